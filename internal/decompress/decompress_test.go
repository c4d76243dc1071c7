package decompress

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func gz(t testing.TB, parts ...string) []byte {
	var b bytes.Buffer
	for _, p := range parts { // one member each
		w := gzip.NewWriter(&b)
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func zst(t testing.TB, parts ...string) []byte {
	var b bytes.Buffer
	for _, p := range parts { // one frame each
		w, err := zstd.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

const text = "{\"records\":[]}\n{\"records\":[]}\n"

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name string
		head []byte
		want Format
	}{
		{"gzip", gz(t, text), Gzip},
		{"zstd", zst(t, text), Zstd},
		{"JSON", []byte(text), None},
		{"CSV", []byte("Timestamp,DeviceName\n"), None},
		{"empty", nil, None},
		{"gzip magic without the deflate method", []byte{0x1f, 0x8b, 0x07}, None},
		{"half a zstd magic", []byte{0x28, 0xb5}, None},
	} {
		if got := Sniff(tc.head); got != tc.want {
			t.Errorf("%s: Sniff = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestNewReaderReadsEveryMemberAndFrame(t *testing.T) {
	long := strings.Repeat("line of an archived stream\n", 50000)
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"gzip, one member", gz(t, long), long},
		{"gzip, three members (cat a.gz b.gz c.gz)", gz(t, "a\n", long, "c\n"), "a\n" + long + "c\n"},
		{"zstd, one frame", zst(t, long), long},
		{"zstd, two frames", zst(t, long, "z\n"), long + "z\n"},
		{"plain", []byte(text), text},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tc.in), Sniff(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("read %d bytes, want %d", len(got), len(tc.want))
			}
		})
	}
}

// A stream cut short or corrupted is an error, never a shorter text.
func TestBrokenStreamsAreErrors(t *testing.T) {
	long := strings.Repeat("0123456789abcdef\n", 20000)
	g, z := gz(t, long), zst(t, long)
	flip := func(b []byte) []byte {
		c := bytes.Clone(b)
		c[len(c)/2] ^= 0xff
		return c
	}
	for _, tc := range []struct {
		name string
		in   []byte
		f    Format
	}{
		{"gzip cut short", g[:len(g)/2], Gzip},
		{"gzip without its trailer", g[:len(g)-4], Gzip},
		{"gzip with a flipped byte", flip(g), Gzip},
		{"zstd cut short", z[:len(z)/2], Zstd},
		{"zstd with a flipped byte", flip(z), Zstd},
		{"a gzip header alone", g[:5], Gzip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tc.in), tc.f)
			if err != nil {
				return // a bad header: reported before any read
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if err == nil {
				t.Fatalf("read %d of %d bytes without an error", len(got), len(long))
			}
		})
	}
}

// A zstd frame that asks for a window over MaxZstdWindow is refused at
// its first read, not allocated.
func TestAHugeZstdWindowIsRefused(t *testing.T) {
	// Frame header: magic, descriptor 0x00 (no content size, window
	// descriptor present), window descriptor 0x90: exponent 18, a 2^28
	// (256 MiB) window.
	frame := append(bytes.Clone(zstdMagic), 0x00, 0x90, 0x01, 0x00, 0x00)
	r, err := NewReader(bytes.NewReader(frame), Zstd)
	if err == nil {
		defer r.Close()
		_, err = io.ReadAll(r)
	}
	if err == nil || !strings.Contains(err.Error(), "window") {
		t.Fatalf("a 256 MiB window was not refused for its size: %v", err)
	}
}

// Whatever the bytes, NewReader and reading do not panic and stop.
func FuzzNewReader(f *testing.F) {
	f.Add(gz(f, text))
	f.Add(zst(f, text))
	f.Add([]byte(text))
	f.Add(append(bytes.Clone(zstdMagic), 0x00, 0xf8, 0x01, 0x00, 0x00))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewReader(bytes.NewReader(in), Sniff(in))
		if err != nil {
			return
		}
		defer r.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(r, 16<<20))
	})
}

func TestUnpackReadsPlainAndCompressedAlike(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("evil.example\n"))
	zw.Close()
	for _, tc := range []struct {
		name string
		in   []byte
		want Format
	}{{"plain", []byte("evil.example\n"), None}, {"gzip", gz.Bytes(), Gzip}} {
		r, f, err := Unpack(bufio.NewReader(bytes.NewReader(tc.in)))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != "evil.example\n" || f != tc.want {
			t.Errorf("%s: read %q (%v), format %v; want the text and %v", tc.name, got, err, f, tc.want)
		}
	}
}
