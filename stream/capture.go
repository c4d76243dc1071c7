package stream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/twmb/avro"
	"github.com/twmb/avro/ocf"
)

// Event Hubs Capture archives a hub's events as Avro object container
// files, one per partition and time window; each record holds one event's
// body (for Defender, an Event Hubs body {"records":[…]}). A
// CaptureReader reads such a file as the file source's messages, so that
// a capture can be replayed like an export.

// avroMagic starts every Avro object container file.
var avroMagic = []byte{'O', 'b', 'j', 1}

// LooksLikeAvro reports whether a file starts like an Avro object
// container file.
func LooksLikeAvro(head []byte) bool { return bytes.HasPrefix(head, avroMagic) }

// captureSchema is what iocwatch reads of a Capture record: the writer's
// other fields (Offset, EnqueuedTimeUtc, SystemProperties, Properties) are
// skipped by schema resolution.
var captureSchema = avro.MustParse(`{
	"type": "record", "name": "EventData", "namespace": "Microsoft.ServiceBus.Messaging",
	"fields": [
		{"name": "SequenceNumber", "type": "long"},
		{"name": "Body", "type": ["null", "bytes"]}
	]
}`)

// captureRecord is one record of a Capture file, as captureSchema reads it.
type captureRecord struct {
	SequenceNumber int64   `avro:"SequenceNumber"`
	Body           *[]byte `avro:"Body"`
}

// CaptureReader reads the event bodies of an Event Hubs Capture file.
type CaptureReader struct {
	rd   *ocf.Reader
	name string
	n    int // records read
	rec  captureRecord
}

// NewCaptureReader reads the header of the Capture file r (named name in
// errors) and checks that its records are Event Hubs events.
func NewCaptureReader(r io.Reader, name string) (*CaptureReader, error) {
	rd, err := ocf.NewReader(r, ocf.WithReaderSchema(captureSchema), ocf.WithCodec(captureDeflate{}))
	if err != nil {
		return nil, fmt.Errorf("%s: not an Event Hubs Capture file (an Avro file of EventData records with a Body): %w", name, err)
	}
	return &CaptureReader{rd: rd, name: name}, nil
}

// Next returns the body of the next record and the record's number in
// the file (1-based), io.EOF after the last one. A record without a body
// gives an empty one. The body is valid until the next call. A damaged
// block is an error naming the record it stopped at; nothing after it is
// read.
func (c *CaptureReader) Next() ([]byte, int, error) {
	c.rec.Body = nil
	if err := c.rd.Decode(&c.rec); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, c.n, io.EOF
		}
		return nil, c.n, fmt.Errorf("%s: Avro record %d: %w", c.name, c.n+1, err)
	}
	c.n++
	if c.rec.Body == nil {
		return nil, c.n, nil
	}
	return *c.rec.Body, c.n, nil
}

// Close releases the reader's decompressor.
func (c *CaptureReader) Close() error { return c.rd.Close() }

// captureDeflate reads Capture's deflate blocks with
// github.com/klauspost/compress/flate, faster than the standard library's
// inflate that the Avro reader's own codec uses, into a buffer sized for
// the block. It refuses a block that inflates past the reader's cap.
type captureDeflate struct{}

func (captureDeflate) Name() string { return "deflate" }

func (captureDeflate) Compress(src []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(src); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (c captureDeflate) Decompress(src []byte) ([]byte, error) {
	return c.DecompressBounded(src, 0)
}

func (captureDeflate) DecompressBounded(src []byte, max int64) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(src))
	defer r.Close()
	limit := int64(math.MaxInt64)
	if max > 0 && max < math.MaxInt64 {
		limit = max + 1
	}
	var out bytes.Buffer
	out.Grow(min(8*len(src), int(min(limit, 64<<20))))
	n, err := out.ReadFrom(io.LimitReader(r, limit))
	if err != nil {
		return nil, err
	}
	if max > 0 && n > max {
		return nil, fmt.Errorf("deflate block inflates past %d bytes", max)
	}
	return out.Bytes(), nil
}

func (captureDeflate) Close() error { return nil }

// captureWriterSchema is the schema Event Hubs Capture writes, as
// Microsoft documents it.
var captureWriterSchema = avro.MustParse(`{
	"type": "record", "name": "EventData", "namespace": "Microsoft.ServiceBus.Messaging",
	"fields": [
		{"name": "SequenceNumber", "type": "long"},
		{"name": "Offset", "type": "string"},
		{"name": "EnqueuedTimeUtc", "type": "string"},
		{"name": "SystemProperties", "type": {"type": "map", "values": ["long", "double", "string", "bytes"]}},
		{"name": "Properties", "type": {"type": "map", "values": ["long", "double", "string", "bytes", "null"]}},
		{"name": "Body", "type": ["null", "bytes"]}
	]
}`)

// captureEvent is one record as Capture writes it.
type captureEvent struct {
	SequenceNumber   int64          `avro:"SequenceNumber"`
	Offset           string         `avro:"Offset"`
	EnqueuedTimeUtc  string         `avro:"EnqueuedTimeUtc"`
	SystemProperties map[string]any `avro:"SystemProperties"`
	Properties       map[string]any `avro:"Properties"`
	Body             *[]byte        `avro:"Body"`
}

// CaptureWriter writes an Event Hubs Capture file — Avro, deflate blocks,
// the schema Capture uses — one record per message, numbered from 0 as a
// partition's sequence: test data for replays of captures (iocwatch gen
// --out events.avro). It is not safe for concurrent use.
type CaptureWriter struct {
	w   *ocf.Writer
	seq int64
	off int64
}

// NewCaptureWriter starts a Capture file on w; Close finishes it.
func NewCaptureWriter(w io.Writer) (*CaptureWriter, error) {
	ow, err := ocf.NewWriter(w, captureWriterSchema, ocf.WithCodec(captureDeflate{}))
	if err != nil {
		return nil, fmt.Errorf("capture file: %w", err)
	}
	return &CaptureWriter{w: ow}, nil
}

// Write appends one event with body as its Body.
func (c *CaptureWriter) Write(body []byte) error {
	b := body
	ev := captureEvent{
		SequenceNumber:   c.seq,
		Offset:           strconv.FormatInt(c.off, 10),
		EnqueuedTimeUtc:  time.Now().UTC().Format("1/2/2006 3:04:05 PM"),
		SystemProperties: map[string]any{},
		Properties:       map[string]any{},
		Body:             &b,
	}
	if err := c.w.Encode(&ev); err != nil {
		return fmt.Errorf("capture file: record %d: %w", c.seq, err)
	}
	c.seq++
	c.off += int64(len(body))
	return nil
}

// Close writes the last block.
func (c *CaptureWriter) Close() error {
	if err := c.w.Close(); err != nil {
		return fmt.Errorf("capture file: %w", err)
	}
	return nil
}
