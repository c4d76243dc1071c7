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
	name string
	dec  *json.Decoder // an array's
	in   *pushback     // what dec reads: the file, after bytes given back
	base int64         // the file's offset of dec's offset 0
	// indent is the indentation of the array's first element, when it
	// starts a line (resyncs): every element is sought there after a
	// broken one.
	indent  []byte
	resyncs bool
	whole   io.Reader         // an object's
	parts   []json.RawMessage // an object's messages, once read
	tail    error             // a broken object's damage, after the messages salvaged before it
	n       int
	// started: an array's opening bracket was read; done: nothing more.
	started, done bool
}

func newDocumentReader(br *bufio.Reader, name string, start byte) *documentReader {
	// encoding/json refuses a byte order mark: drop it, counting its bytes
	// in the offsets errors name.
	var base int64
	if head, _ := br.Peek(3); bytes.Equal(head, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
		base = 3
	}
	if start == '{' {
		return &documentReader{name: name, whole: br, base: base}
	}
	in := &pushback{r: br}
	// Of a live input, no more than the array's first element's line is
	// waited for.
	head := peekUntil(br, min(br.Size(), 64<<10), func(head []byte) bool {
		_, _, known := elementIndent(head)
		return known
	})
	indent, ok, _ := elementIndent(head)
	return &documentReader{name: name, dec: json.NewDecoder(in), in: in, indent: indent, resyncs: ok, base: base}
}

// elementIndent returns the indentation of an array's first element when
// head, the start of the document, has the element start a line of its
// own (an indentation and '{'), as pretty-printed arrays do. known is
// false when head ends before the line that tells.
func elementIndent(head []byte) (indent []byte, ok, known bool) {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	_, rest, more := bytes.Cut(head, []byte("\n")) // past the lone '['
	for more {
		var line []byte
		line, rest, more = bytes.Cut(rest, []byte("\n"))
		if !more {
			break // a line cut by the end of head: not known
		}
		if trimmed := bytes.TrimLeft(line, " \t"); len(bytes.TrimSpace(trimmed)) > 0 {
			if trimmed[0] != '{' {
				return nil, false, true
			}
			return bytes.Clone(line[:len(line)-len(trimmed)]), true, true
		}
	}
	return nil, false, false
}

// brokenElement is what Next returns with the text of an array element
// whose JSON is broken when reading goes on at the next element: the
// message carries err, and the document is not over.
type brokenElement struct{ err error }

func (e *brokenElement) Error() string { return e.err.Error() }
func (e *brokenElement) Unwrap() error { return e.err }

// maxBrokenText bounds the text of a broken element kept for its dead
// letter; the rest of it is skipped.
const maxBrokenText = 64 << 10

// pushback reads the bytes given back to it, then r.
type pushback struct {
	back []byte
	r    io.Reader
}

func (p *pushback) Read(b []byte) (int, error) {
	if len(p.back) > 0 {
		n := copy(b, p.back)
		p.back = p.back[n:]
		return n, nil
	}
	return p.r.Read(b)
}

// giveBack puts b before what is left to read.
func (p *pushback) giveBack(b []byte) {
	p.back = append(append(make([]byte, 0, len(b)+len(p.back)), b...), p.back...)
}

// Next returns the next message and its number, io.EOF after the last.
// A broken array element that resync gets past is returned as its text,
// its number and a *brokenElement; other broken JSON ends the document
// with an error naming the element it reached (nothing after it can be
// framed).
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
			return nil, r.n, fmt.Errorf("file source: %s: something after the JSON array's closing bracket (at byte %d)", r.name, r.base+r.dec.InputOffset())
		}
		return nil, r.n, io.EOF
	}
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		at := r.base + r.dec.InputOffset()
		if text, ok := r.resync(); ok {
			r.n++
			return text, r.n, &brokenElement{fmt.Errorf("JSON array element %d (byte %d): %w; read on at the next element", r.n, at, err)}
		}
		r.done = true
		return nil, r.n, r.errAt(err, at)
	}
	r.n++
	return raw, r.n, nil
}

func (r *documentReader) err(err error) error { return r.errAt(err, r.base+r.dec.InputOffset()) }

func (r *documentReader) errAt(err error, at int64) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("file source: %s: JSON array element %d (byte %d): %w", r.name, r.n+1, at, err)
}

// resync finds where the element after a broken one starts, after the
// decoder failed in it, and sets up a decoder there. It works for arrays
// printed one element start to a line, as jq, Python's json.dump(indent=…)
// and PowerShell's ConvertTo-Json write them (or one element a line): the
// next element starts at the first line after the broken one's first that
// has the first element's indentation followed by '{'. It returns the
// broken element's text (at most maxBrokenText bytes) and whether a next
// element was found; if not, what is left of the file is read and the
// document is over.
func (r *documentReader) resync() ([]byte, bool) {
	if !r.resyncs {
		return nil, false
	}
	start := r.base + r.dec.InputOffset()
	left, _ := io.ReadAll(r.dec.Buffered())
	r.in.giveBack(left)
	lr := bufio.NewReaderSize(r.in, 64<<10)
	var (
		text  []byte
		first bool  // the broken element's first line was read
		read  int64 // bytes of lines read
	)
	for {
		if first {
			// A line that starts with the indentation and '{' starts the
			// next element: give it back with what lr read ahead, and start
			// a decoder at it inside a bracket of its own.
			w := len(r.indent) + 1
			if p, _ := lr.Peek(w); len(p) == w && p[w-1] == '{' && bytes.Equal(p[:w-1], r.indent) {
				ahead, _ := io.ReadAll(io.LimitReader(lr, int64(lr.Buffered())))
				r.in.giveBack(append([]byte{'['}, ahead...))
				r.dec = json.NewDecoder(r.in)
				r.base = start + read - 1
				r.started = false
				return bytes.TrimSpace(text), true
			}
		}
		line, n, err := readCappedLine(lr, maxBrokenText)
		if n == 0 && err != nil {
			return bytes.TrimSpace(text), false
		}
		if !first {
			first = len(bytes.TrimSpace(line)) > 0
		}
		read += n
		if room := maxBrokenText - len(text); room > 0 {
			text = append(text, line[:min(len(line), room)]...)
		}
		if err != nil {
			return bytes.TrimSpace(text), false
		}
	}
}

// readCappedLine reads a line up to and with its newline, keeping at most
// limit bytes of it, and returns the kept bytes and the length of the whole
// line. At the end of the input err is io.EOF (with the last line, if any).
func readCappedLine(br *bufio.Reader, limit int) ([]byte, int64, error) {
	var (
		kept []byte
		n    int64
	)
	for {
		chunk, err := br.ReadSlice('\n')
		n += int64(len(chunk))
		if room := limit - len(kept); room > 0 {
			kept = append(kept, chunk[:min(len(chunk), room)]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return kept, n, err
	}
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
		r.tail = fmt.Errorf("file source: %s: %s (byte %d): %w", r.name, what, r.base+dec.InputOffset(), err)
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
