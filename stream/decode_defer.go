package stream

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// Deferred columns. Most events match nothing, and for them the pipeline
// needs only the columns that route and match a record; the columns that
// only an alert or an exclusion reads can wait until an event has a hit.
// With Decoder.deferColumns set, Decode leaves these unfilled and keeps
// their text, and complete fills them:
//
//   - InitiatingProcessFolderPath and InitiatingProcessCommandLine when
//     they hold escapes (Windows paths always do): their escapes are
//     checked at once, with the error Decode would report, and decoded by
//     complete;
//   - LocalIP, LocalPort and ReportId, parsed by complete.
//
// Everything else, errors included, is as Decode reports it without
// deferring: complete cannot fail. Measured on the standard workload, this
// is about 4 % of the file pipeline's CPU (docs/decoding.md).

// deferred is where an event's deferred columns are in its record's
// text, and which of them complete fills.
type deferred struct {
	buf  []byte // the record's text: the message, or a wrapper's decoded body
	cols [numDeferred]struct{ start, end uint32 }
	todo uint8 // bit i: complete fills column i (the d* constants)
}

// The deferred columns, as indices of deferred.cols and bits of todo.
const (
	dReportID = iota
	dLocalIP
	dLocalPort
	dFolder // escaped: decoded by complete
	dCmd    // escaped: decoded by complete
	numDeferred
)

// plain defers typed column c (one of the first three d* columns, at i)
// when it has no escapes and reports whether it did; a column with
// escapes, or any column when columns are not deferred, must be filled
// now. An absent column is deferred as empty text.
func (b *builder) plain(c, i int, p *deferred) bool {
	if !b.d.deferColumns {
		return false
	}
	buf, s := b.st.pick(c)
	if s.esc || !b.inRecordText(buf) {
		return false
	}
	p.cols[i].start, p.cols[i].end = s.start, s.end
	p.todo |= 1 << i
	return true
}

// checked returns string column c's text when it has no escapes; else it
// checks the escapes (an error as str would report it) and defers the
// column as i. Without deferColumns it is str.
func (b *builder) checked(c, i int, p *deferred) string {
	if !b.d.deferColumns {
		return b.str(c)
	}
	buf, s := b.st.pick(c)
	if s.kind == vAbsent {
		return ""
	}
	raw := buf[s.start:s.end]
	if !s.esc {
		return bstr(raw)
	}
	if !b.inRecordText(buf) {
		return b.str(c)
	}
	if err := checkEscapes(raw); err != nil {
		b.fail(c, err)
		return ""
	}
	p.cols[i].start, p.cols[i].end = s.start, s.end
	p.todo |= 1 << i
	return ""
}

// inRecordText reports whether a column's text, picked from buf, lies in
// the record's text that deferred.buf keeps: not when "properties" was a
// JSON string, whose object was unescaped into the arena (nil: absent).
func (b *builder) inRecordText(buf []byte) bool {
	return buf == nil || unsafe.SliceData(buf) == unsafe.SliceData(b.st.top.buf)
}

// complete fills the deferred columns of e, an event decoded since the
// last Reset. It does nothing for an event without any, or twice.
func (d *Decoder) complete(e *Event) {
	if e.pending == 0 || int(e.pending) > len(d.pending) {
		return
	}
	p := &d.pending[e.pending-1]
	e.pending = 0
	text := func(i int) []byte { return p.buf[p.cols[i].start:p.cols[i].end] }
	if p.todo&(1<<dReportID) != 0 {
		e.ReportID, _ = parseInt64(text(dReportID))
	}
	if p.todo&(1<<dLocalIP) != 0 {
		e.LocalIP = parseAddr(text(dLocalIP))
	}
	if p.todo&(1<<dLocalPort) != 0 {
		e.LocalPort, _ = parsePort(text(dLocalPort))
	}
	if p.todo&(1<<dFolder) != 0 {
		e.ProcessFolderPath = d.unescaped(text(dFolder))
	}
	if p.todo&(1<<dCmd) != 0 {
		e.ProcessCommandLine = d.unescaped(text(dCmd))
	}
}

// unescaped decodes text whose escapes checkEscapes accepted into the
// arena.
func (d *Decoder) unescaped(raw []byte) string {
	start := len(d.arena)
	d.arena, _ = appendUnescaped(d.arena, raw) // checked: cannot fail
	return bstr(d.arena[start:])
}

// checkEscapes reports the error appendUnescaped would return for s,
// without decoding it: errEndOfString for a backslash at the end,
// errBadEscape for anything but \" \\ \/ \b \f \n \r \t or \u and four hex
// digits.
func checkEscapes(s []byte) error {
	i := 0
	for {
		// The next backslash, eight bytes at a time.
		for i+8 <= len(s) {
			if m := zeroBytes(binary.LittleEndian.Uint64(s[i:]) ^ (lsb * '\\')); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto escape
			}
			i += 8
		}
		for i < len(s) && s[i] != '\\' {
			i++
		}
		if i >= len(s) {
			return nil
		}
	escape:
		if i+1 >= len(s) {
			return errEndOfString
		}
		switch s[i+1] {
		case '\\', '"', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if hex4(s[i+2:]) < 0 {
				return errBadEscape
			}
			i += 6
		default:
			return errBadEscape
		}
	}
}
