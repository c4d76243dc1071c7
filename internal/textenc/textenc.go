package textenc

import (
	"bufio"
	"io"
	"unicode/utf16"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encoding is the character encoding of a text, as Sniff finds it.
type Encoding uint8

// The encodings Sniff tells apart.
const (
	UTF8    Encoding = iota // UTF-8, or anything that is not UTF-16
	UTF16LE                 // UTF-16, little-endian (what Windows writes)
	UTF16BE                 // UTF-16, big-endian
)

// String names the encoding as users know it.
func (e Encoding) String() string {
	switch e {
	case UTF16LE:
		return "UTF-16LE"
	case UTF16BE:
		return "UTF-16BE"
	}
	return "UTF-8"
}

// SniffSize is how many leading bytes Sniff needs to decide (fewer will
// do for a short text).
const SniffSize = 512

// Sniff returns the encoding of a text from its first bytes: UTF-16 when
// they start with its byte order mark (FF FE little-endian, FE FF
// big-endian; not FF FE 00 00, which is UTF-32's), or, without one, when
// three in four high bytes of the first SniffSize are zero and almost no
// low one is, as in UTF-16 text that is mostly ASCII. Anything else is
// UTF8: UTF-8 text has no zero bytes, and the parsers report binary junk
// themselves.
func Sniff(head []byte) Encoding {
	switch {
	case len(head) >= 4 && head[0] == 0xff && head[1] == 0xfe && head[2] == 0 && head[3] == 0:
		return UTF8 // UTF-32LE: not supported, left for the parser to refuse
	case len(head) >= 2 && head[0] == 0xff && head[1] == 0xfe:
		return UTF16LE
	case len(head) >= 2 && head[0] == 0xfe && head[1] == 0xff:
		return UTF16BE
	}
	head = head[:min(len(head), SniffSize)&^1]
	if len(head) < 4 {
		return UTF8
	}
	var zeroEven, zeroOdd int
	for i := 0; i < len(head); i += 2 {
		if head[i] == 0 {
			zeroEven++
		}
		if head[i+1] == 0 {
			zeroOdd++
		}
	}
	// Mostly ASCII UTF-16 has a zero in most high bytes and almost none
	// in the low ones.
	units := len(head) / 2
	switch {
	case zeroOdd*4 >= units*3 && zeroEven*10 < units:
		return UTF16LE
	case zeroEven*4 >= units*3 && zeroOdd*10 < units:
		return UTF16BE
	}
	return UTF8
}

// SniffReader is Sniff of the next SniffSize bytes of br (fewer at its
// end), which stay unread.
func SniffReader(br *bufio.Reader) Encoding {
	head, _ := br.Peek(SniffSize)
	return Sniff(head)
}

// NewReader returns a reader of r's text in UTF-8 when e is UTF-16 (a
// leading byte order mark dropped, unpaired surrogates replaced by
// U+FFFD), and r itself when e is UTF8. Line breaks stay where they are,
// so line numbers in the UTF-8 text are those of the original.
func NewReader(r io.Reader, e Encoding) io.Reader {
	var order unicode.Endianness
	switch e {
	case UTF16LE:
		order = unicode.LittleEndian
	case UTF16BE:
		order = unicode.BigEndian
	default:
		return r
	}
	// UseBOM: a byte order mark, when there is one, is dropped (and would
	// override order).
	return transform.NewReader(r, unicode.UTF16(order, unicode.UseBOM).NewDecoder())
}

// Encode returns s in UTF-16 of order e (UTF16LE or UTF16BE; UTF8 returns
// s as it is), with a byte order mark first when bom is set: what Windows
// tools write, for tests and tools that need such text.
func Encode(s string, e Encoding, bom bool) []byte {
	if e == UTF8 {
		return []byte(s)
	}
	b := make([]byte, 0, 2*len(s)+2)
	put := func(u uint16) {
		if e == UTF16LE {
			b = append(b, byte(u), byte(u>>8))
		} else {
			b = append(b, byte(u>>8), byte(u))
		}
	}
	if bom {
		put(0xfeff)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		put(u)
	}
	return b
}
