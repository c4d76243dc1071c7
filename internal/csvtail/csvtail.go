// Package csvtail finds the quoted CSV field whose closing quote is
// missing. encoding/csv with LazyQuotes (which the feed and event readers
// need for the bare quotes real files hold) reads such a field to the end
// of its input without an error, so every later row would be lost inside
// it, silently.
package csvtail

import (
	"encoding/csv"
	"io"
	"strings"
)

// Reader passes its reader through, remembering whether the end was
// reached, how many bytes were read and the last byte that is not a line
// break.
type Reader struct {
	r    io.Reader
	n    int64
	eof  bool
	last byte
}

// New returns a Reader over r.
func New(r io.Reader) *Reader { return &Reader{r: r} }

// Read implements io.Reader.
func (t *Reader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.n += int64(n)
	for i := n - 1; i >= 0; i-- {
		if c := p[i]; c != '\n' && c != '\r' {
			t.last = c
			break
		}
	}
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

// Unclosed reports whether rec, just read by cr from t, ends the input
// inside a quoted field that was never closed: the record reaches the
// end of the input, a field of it spans lines (only a quoted field can),
// and the input does not end with the closing quote.
func (t *Reader) Unclosed(cr *csv.Reader, rec []string) bool {
	if !t.eof || cr.InputOffset() != t.n || t.last == '"' || len(rec) == 0 {
		return false
	}
	return strings.IndexByte(rec[len(rec)-1], '\n') >= 0
}

// Rest returns what the unclosed last field of rec holds after the line
// its quote was opened on — the lines it swallowed, to be read again —
// and that line's number as cr counts lines.
func Rest(cr *csv.Reader, rec []string) (rest string, line int) {
	last := rec[len(rec)-1]
	line, _ = cr.FieldPos(len(rec) - 1)
	return last[strings.IndexByte(last, '\n')+1:], line
}
