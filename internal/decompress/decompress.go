package decompress

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Format is a compression format Sniff recognises.
type Format uint8

// The formats. None is content that is not compressed (as far as Sniff
// can tell).
const (
	None Format = iota
	Gzip
	Zstd
)

// String names the format as its tools do.
func (f Format) String() string {
	switch f {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return "none"
}

var (
	gzipMagic = []byte{0x1f, 0x8b, 0x08} // and the deflate method, the only one defined
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// MagicSize is how many leading bytes Sniff looks at.
const MagicSize = 4

// Sniff returns the compression format of content that starts with head.
// Neither magic can start JSON, CSV or a text feed, so plain content is
// never taken for compressed.
func Sniff(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return Gzip
	case bytes.HasPrefix(head, zstdMagic):
		return Zstd
	}
	return None
}

// MaxZstdWindow is the largest zstd window (the memory a stream may ask
// the decoder for) accepted: what `zstd --long=27` writes. A frame asking
// for more is an error rather than a gigabyte allocation.
const MaxZstdWindow = 128 << 20

// NewReader returns a reader of r's content decompressed from format f
// (every member of a multi-member gzip stream, every frame of a zstd
// one), and r itself, with a Close that does nothing, for None. A header
// that is not valid is an error here; corrupt or truncated data later is
// a read error (io.ErrUnexpectedEOF for a stream cut short). Close
// releases the decoder, not r.
func NewReader(r io.Reader, f Format) (io.ReadCloser, error) {
	switch f {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, named(f, err) // most already say "gzip: …"
		}
		return &reader{r: zr, close: zr.Close, f: f}, nil
	case Zstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(MaxZstdWindow))
		if err != nil {
			return nil, named(f, err)
		}
		return &reader{r: zr, close: func() error { zr.Close(); return nil }, f: f}, nil
	}
	return io.NopCloser(r), nil
}

// Unpack returns br's content decompressed as its first bytes say (see
// Sniff), with the format found: br itself, with a Close that does
// nothing, for None.
func Unpack(br *bufio.Reader) (io.ReadCloser, Format, error) {
	head, _ := br.Peek(MagicSize)
	f := Sniff(head)
	r, err := NewReader(br, f)
	return r, f, err
}

// reader names its format in the errors of the decoder it wraps.
type reader struct {
	r     io.Reader
	close func() error
	f     Format
}

func (z *reader) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	switch {
	case err == nil, err == io.EOF:
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("%s data cut short: %w", z.f, err)
	default:
		err = named(z.f, err)
	}
	return n, err
}

// named prefixes err with the format's name, unless it already starts
// with it (as most of the decoders' errors do).
func named(f Format, err error) error {
	if strings.HasPrefix(err.Error(), f.String()+":") {
		return err
	}
	return fmt.Errorf("%s: %w", f, err)
}

func (z *reader) Close() error { return z.close() }
