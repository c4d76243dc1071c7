package stream

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Pretty-printed JSON — an array of records saved by `jq .`, Python's
// json.dump(indent=…) or PowerShell's ConvertTo-Json, or an Advanced
// Hunting API response — spans many lines, none of which is a message on
// its own. The file source recognises such a document by its first line,
// a lone '[' or '{', and reads it as a document instead of line by line.

// documentStart returns '[' or '{' when the first non-blank line of head
// is that bracket alone (a pretty-printed JSON document), else 0. No JSON
// Lines file starts so: a lone bracket is not a complete message.
func documentStart(head []byte) byte {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 || (head[0] != '[' && head[0] != '{') {
		return 0
	}
	line, _, found := bytes.Cut(head[1:], []byte("\n"))
	if !found || len(bytes.TrimSpace(line)) > 0 {
		return 0
	}
	return head[0]
}

// MaxDocumentBytes bounds a pretty-printed JSON object read as one
// message. An array is read element by element instead, without a bound
// on the whole.
const MaxDocumentBytes = 256 << 20

// documentReader reads a pretty-printed JSON document as messages: each
// element of a top-level array, numbered from 1, or a top-level object
// whole, as message 1.
type documentReader struct {
	name  string
	dec   *json.Decoder // an array's
	whole io.Reader     // an object's
	n     int
	// started: an array's opening bracket was read; done: nothing more.
	started, done bool
}

func newDocumentReader(br *bufio.Reader, name string, start byte) *documentReader {
	if start == '{' {
		return &documentReader{name: name, whole: br}
	}
	return &documentReader{name: name, dec: json.NewDecoder(br)}
}

// Next returns the next message and its number, io.EOF after the last.
// Broken JSON ends the document with an error naming the element it
// reached (nothing after it can be framed).
func (r *documentReader) Next() ([]byte, int, error) {
	if r.done {
		return nil, r.n, io.EOF
	}
	if r.whole != nil {
		r.done = true
		data, err := io.ReadAll(io.LimitReader(r.whole, MaxDocumentBytes+1))
		if err != nil {
			return nil, 0, fmt.Errorf("file source: read %s: %w", r.name, err)
		}
		if len(data) > MaxDocumentBytes {
			return nil, 0, fmt.Errorf("file source: %s: a pretty-printed JSON object of more than %d MiB; write it as JSON lines (one message per line, e.g. jq -c '.records[]')", r.name, MaxDocumentBytes>>20)
		}
		r.n = 1
		return data, 1, nil
	}
	if !r.started { // the opening bracket
		r.started = true
		if _, err := r.dec.Token(); err != nil {
			r.done = true
			return nil, 0, r.err(err)
		}
	}
	if !r.dec.More() {
		r.done = true
		if _, err := r.dec.Token(); err != nil { // the closing bracket
			return nil, r.n, r.err(err)
		}
		if _, err := r.dec.Token(); !errors.Is(err, io.EOF) {
			return nil, r.n, fmt.Errorf("file source: %s: something after the JSON array's closing bracket (at byte %d)", r.name, r.dec.InputOffset())
		}
		return nil, r.n, io.EOF
	}
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		r.done = true
		return nil, r.n, r.err(err)
	}
	r.n++
	return raw, r.n, nil
}

func (r *documentReader) err(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("file source: %s: JSON array element %d (byte %d): %w", r.name, r.n+1, r.dec.InputOffset(), err)
}
