package match

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unsafe"
)

// txtMaxLine is the longest line the text reader accepts (the bufio
// buffer Load uses).
const txtMaxLine = 64 << 10

// loadText reads Format "text": one value per line, its kind detected by
// ParseValue. Blank lines and lines starting with '#' or ';' are comments;
// whitespace followed by '#' or ';' starts an inline comment ("1.2.3.0/24
// ; SBL123", "evil.example # seen 2024-03"). A hosts-file line
// ("0.0.0.0 evil.example", "127.0.0.1 …", "::1 …", ":: …") loads its name.
// CRLF line ends and a UTF-8 byte-order mark are accepted. A JSON list
// of strings (`["203.0.113.9", "evil.example"]`, as some feeds publish)
// is read as one value per element, at the element's line.
func loadText(st *ldState, br *bufio.Reader) error {
	if head, _ := br.Peek(64); txtIsJSONList(head) {
		return txtJSONList(st, br)
	}
	line := 0
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			line++
			start := string(b[:64])
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			st.refuse(st.lineOrigin(line), start+"…", fmt.Sprintf("line longer than %d KiB", txtMaxLine>>10))
		} else if len(b) > 0 {
			line++
			if line == 1 {
				b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
			}
			txtLine(st, line, b)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s:%d: read: %w", st.name, line+1, err)
		}
	}
}

func txtIsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

func txtTrim(b []byte) []byte {
	for len(b) > 0 && txtIsSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && txtIsSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func txtIndexSpace(b []byte) int {
	for i, c := range b {
		if txtIsSpace(c) {
			return i
		}
	}
	return -1
}

// txtHostsAddrs are the addresses a hosts-file blocklist line starts with.
var txtHostsAddrs = [...]string{"0.0.0.0", "127.0.0.1", "::1", "::"}

func txtLine(st *ldState, line int, b []byte) {
	b = txtTrim(b)
	if len(b) == 0 || b[0] == '#' || b[0] == ';' {
		return
	}
	b = txtCutComment(b)
	v := b
	if i := txtIndexSpace(b); i >= 0 {
		first, rest := b[:i], txtTrim(b[i:])
		hosts := false
		for _, h := range txtHostsAddrs {
			if string(first) == h {
				hosts = true
				break
			}
		}
		if !hosts || txtIndexSpace(rest) >= 0 {
			st.refuse(st.lineOrigin(line), string(b), "more than one value on the line (only hosts-file lines \"0.0.0.0 name\" may have two)")
			return
		}
		v = rest
	}
	// raw is only read until emit returns (the list copies the value it
	// keeps, and a refusal copies raw), so it can share b's memory — the
	// bufio.Reader's buffer, overwritten by the lines that follow.
	raw := unsafe.String(unsafe.SliceData(v), len(v))
	kind, value, err := ParseValue(raw)
	if err != nil {
		st.refuse(st.lineOrigin(line), string(v), err.Error())
		return
	}
	st.emit(st.name, line, raw, kind, value, nil)
}

// txtCutComment cuts an inline comment off a trimmed line: whitespace
// followed by '#' or ';' and the rest of the line.
func txtCutComment(b []byte) []byte {
	for i := 1; i < len(b); i++ {
		if (b[i] == '#' || b[i] == ';') && txtIsSpace(b[i-1]) {
			return txtTrim(b[:i])
		}
	}
	return b
}

// txtIsJSONList reports whether head starts a JSON list of strings: '['
// then, after white space, '"' or ']'. A text line starting with '[' is
// an IPv6 literal ("[2001:db8::1]"), never followed by a quote.
func txtIsJSONList(head []byte) bool {
	head = txtTrim(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")))
	if len(head) < 2 || head[0] != '[' {
		return false
	}
	rest := txtTrim(head[1:])
	return len(rest) > 0 && (rest[0] == '"' || rest[0] == ']')
}

// txtJSONList reads a JSON list of strings, each element a text line at
// the line where it starts. Like every text feed it never fails: an
// element that is not a string is refused, and broken JSON is refused at
// its line, ending the list (the elements before it are kept).
func txtJSONList(st *ldState, br *bufio.Reader) error {
	data, err := io.ReadAll(br)
	if err != nil {
		return fmt.Errorf("%s: read: %w", st.name, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	dec := json.NewDecoder(bytes.NewReader(data))
	line, counted := 1, 0
	lineAt := func(off int) int { // off never goes back
		off = min(max(off, counted), len(data))
		line += bytes.Count(data[counted:off], []byte("\n"))
		counted = off
		return line
	}
	broken := func(err error) error {
		off := int(dec.InputOffset())
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			off = int(syn.Offset)
		}
		if errors.Is(err, io.EOF) {
			err, off = io.ErrUnexpectedEOF, len(data)
		}
		st.refuse(st.lineOrigin(lineAt(off)), "", "invalid JSON list of values: "+err.Error())
		return nil
	}
	if _, err := dec.Token(); err != nil { // '['
		return broken(err)
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return broken(err)
		}
		at := lineAt(int(dec.InputOffset()) - len(raw))
		var v string
		if json.Unmarshal(raw, &v) != nil {
			st.refuse(st.lineOrigin(at), txtShort(raw), "not a string: a JSON list of values holds strings only")
			continue
		}
		txtLine(st, at, []byte(v))
	}
	if _, err := dec.Token(); err != nil { // ']'
		return broken(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		st.refuse(st.lineOrigin(lineAt(int(dec.InputOffset()))), "", "something after the JSON list's closing bracket")
	}
	return nil
}

// txtShort is b as a string, cut to 64 bytes.
func txtShort(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}
