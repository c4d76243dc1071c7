package match

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// txtMaxLine is the longest line the text reader accepts (the bufio
// buffer Load uses).
const txtMaxLine = 64 << 10

// loadText reads Format "text": one value per line, its kind detected by
// ParseValue. Blank lines and lines starting with '#' or ';' are comments;
// whitespace followed by '#' or ';' starts an inline comment ("1.2.3.0/24
// ; SBL123", "evil.example # seen 2024-03"). A hosts-file line
// ("0.0.0.0 evil.example", "127.0.0.1 …", "::1 …", ":: …") loads its name.
// CRLF line ends and a UTF-8 byte-order mark are accepted.
func loadText(st *ldState, br *bufio.Reader) error {
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
	// Cut an inline comment: whitespace followed by '#' or ';'.
	for i := 1; i < len(b); i++ {
		if (b[i] == '#' || b[i] == ';') && txtIsSpace(b[i-1]) {
			b = txtTrim(b[:i])
			break
		}
	}
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
	raw := st.text(v)
	kind, value, err := ParseValue(raw)
	if err != nil {
		st.refuse(st.lineOrigin(line), raw, err.Error())
		return
	}
	st.emit(st.name, line, raw, kind, value, nil)
}
