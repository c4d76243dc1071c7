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

// MaxDocumentBytes bounds a pretty-printed JSON object, which is read
// whole before it is split into messages. An array is read element by
// element instead, without a bound on the whole.
const MaxDocumentBytes = 256 << 20

// documentReader reads a pretty-printed JSON document as messages: each
// element of a top-level array, numbered from 1; each element of a
// top-level object's "records" array (an Event Hubs body) or "Results"
// array (the Advanced Hunting API's response), so that no message grows
// with the document; any other object whole, as message 1.
type documentReader struct {
	name  string
	dec   *json.Decoder     // an array's
	whole io.Reader         // an object's
	parts []json.RawMessage // an object's messages, once read
	tail  error             // a broken object's damage, after the messages salvaged before it
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
		if r.parts == nil {
			if err := r.readObject(); err != nil {
				r.done = true
				return nil, 0, err
			}
		}
		if r.n == len(r.parts) {
			r.done = true
			if r.tail != nil {
				return nil, r.n, r.tail
			}
			return nil, r.n, io.EOF
		}
		r.n++
		return r.parts[r.n-1], r.n, nil
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

// salvage reads a broken object's "records" or "Results" array element by
// element (a download cut short, a record damaged by hand): the elements
// before the damage become its messages, and the damage is the error Next
// returns after them. An object whose damage comes before any such array
// stays one message, for the decoder to report.
func (r *documentReader) salvage(data []byte) {
	dec := json.NewDecoder(bytes.NewReader(data))
	fail := func(what string, err error) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		r.tail = fmt.Errorf("file source: %s: %s (byte %d): %w", r.name, what, dec.InputOffset(), err)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return
	}
	var parts []json.RawMessage
	found := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := t.(string)
		if key != "records" && key != "Results" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				break
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			break
		}
		found = true
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				fail(fmt.Sprintf("JSON element %d of %q", len(parts)+1, key), err)
				r.parts = parts
				return
			}
			parts = append(parts, raw)
		}
		if _, err := dec.Token(); err != nil { // the closing bracket
			fail(fmt.Sprintf("after JSON element %d of %q", len(parts), key), err)
			r.parts = parts
			return
		}
	}
	if found {
		r.parts = parts
		_, err := dec.Token()
		fail("after the arrays", err)
	}
}

// readObject reads a top-level object (up to MaxDocumentBytes) into its
// messages: the elements of its "records" and "Results" arrays, else the
// object itself. Broken JSON is left to the decoder, as one message.
func (r *documentReader) readObject() error {
	data, err := io.ReadAll(io.LimitReader(r.whole, MaxDocumentBytes+1))
	if err != nil {
		return fmt.Errorf("file source: read %s: %w", r.name, err)
	}
	if len(data) > MaxDocumentBytes {
		return fmt.Errorf("file source: %s: a pretty-printed JSON object of more than %d MiB; write it as JSON lines (one message per line, e.g. jq -c '.records[]')", r.name, MaxDocumentBytes>>20)
	}
	r.parts = []json.RawMessage{data}
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		r.salvage(data)
		return nil
	}
	var parts []json.RawMessage
	found := false
	for _, key := range []string{"records", "Results"} {
		var elems []json.RawMessage
		if raw, ok := top[key]; ok && json.Unmarshal(raw, &elems) == nil {
			parts, found = append(parts, elems...), true
		}
	}
	if found {
		r.parts = parts
	}
	return nil
}
