package feed

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/iocwatch/iocwatch/internal/decompress"
)

// errTooLarge marks a body over Spec.MaxBytes, compressed or not.
var errTooLarge = errors.New("larger than max_bytes")

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zipMagic  = []byte("PK\x03\x04")
)

// decodeBody turns a downloaded body into the feed's content: it undoes a
// gzip or zstd Content-Encoding, then unpacks a gzip or zstd file (a
// ".gz" or ".zst" feed) or takes the first file of a zip archive,
// detected by their magic bytes. Nothing
// larger than max bytes is produced; a truncated or corrupt archive is an
// error, never a shorter feed. decodeBody never panics on input.
func decodeBody(raw []byte, contentEncoding string, max int64) ([]byte, error) {
	body := raw
	switch ce := strings.ToLower(strings.TrimSpace(contentEncoding)); ce {
	case "", "identity":
	case "gzip", "x-gzip":
		var err error
		if body, err = gunzip(body, max); err != nil {
			return nil, fmt.Errorf("Content-Encoding gzip: %w", err)
		}
	case "zstd":
		var err error
		if body, err = unzstd(body, max); err != nil {
			return nil, fmt.Errorf("Content-Encoding zstd: %w", err)
		}
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", contentEncoding)
	}
	// A .gz or .zip feed, possibly also gzip-encoded in transit. One level
	// each: an archive inside an archive is returned as is.
	var err error
	switch {
	case bytes.HasPrefix(body, gzipMagic):
		if body, err = gunzip(body, max); err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
	case bytes.HasPrefix(body, zipMagic):
		if body, err = unzipFirst(body, max); err != nil {
			return nil, fmt.Errorf("zip body: %w", err)
		}
	case decompress.Sniff(body) == decompress.Zstd:
		if body, err = unzstd(body, max); err != nil {
			return nil, fmt.Errorf("zstd body: %w", err)
		}
	}
	return body, nil
}

// gunzip decompresses every member of a gzip stream, refusing more than
// max bytes of output.
func gunzip(b []byte, max int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return readLimited(zr, max, inflateHint(gzipSize(b), int64(len(b))))
}

// unzstd decompresses every frame of a zstd stream, refusing more than
// max bytes of output.
func unzstd(b []byte, max int64) ([]byte, error) {
	zr, err := decompress.NewReader(bytes.NewReader(b), decompress.Zstd)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var stated int64
	var h zstd.Header
	if h.Decode(b) == nil && h.HasFCS {
		stated = int64(min(h.FrameContentSize, uint64(max)))
	}
	return readLimited(zr, max, inflateHint(stated, int64(len(b))))
}

// maxInflateHint bounds the size hint of compressed content to this many
// times its compressed size: the stated size is the sender's word, and a
// few bytes claiming gigabytes must not reserve max_bytes up front. Feeds
// compress 5–20 times; content that inflates further grows its buffer as
// it is read.
const maxInflateHint = 64

// inflateHint is the readLimited size hint for content said to inflate
// to stated bytes from compressed ones.
func inflateHint(stated, compressed int64) int64 {
	return min(stated, maxInflateHint*compressed)
}

// gzipSize is the uncompressed size a gzip stream's trailer states (ISIZE:
// modulo 2³², of the last member only): a hint for readLimited, 0 when b
// is too short to hold one.
func gzipSize(b []byte) int64 {
	if len(b) < 18 {
		return 0
	}
	t := b[len(b)-4:]
	return int64(uint32(t[0]) | uint32(t[1])<<8 | uint32(t[2])<<16 | uint32(t[3])<<24)
}

// unzipFirst returns the content of the first regular file in a zip
// archive.
func unzipFirst(b []byte, max int64) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		if f.UncompressedSize64 > uint64(max) {
			return nil, fmt.Errorf("%s: %d bytes uncompressed: %w (%d)", f.Name, f.UncompressedSize64, errTooLarge, max)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		defer rc.Close()
		out, err := readLimited(rc, max, inflateHint(int64(f.UncompressedSize64), int64(f.CompressedSize64)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		return out, nil
	}
	return nil, errors.New("archive holds no file")
}

// readLimited reads r to the end, failing with errTooLarge past max bytes.
// io.ErrUnexpectedEOF (a truncated stream) is reported as "truncated".
// size, when above 0, is the length r is expected to have (a file's size,
// a Content-Length): the buffer is sized for it up front (up to max), so
// that a large feed is not copied from buffer to doubled buffer as it is
// read, leaving the smaller ones behind as garbage.
func readLimited(r io.Reader, max, size int64) ([]byte, error) {
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(min(size, max)) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, max+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("truncated: %w", err)
		}
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("%w (%d bytes)", errTooLarge, max)
	}
	return buf.Bytes(), nil
}
