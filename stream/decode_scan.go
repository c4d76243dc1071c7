package stream

import (
	"bytes"
	"encoding/binary"
	"unsafe"
)

// The scanner below is deliberately lenient where leniency is free: it
// checks the structure of the JSON (quotes, brackets, commas, colons) but
// not the grammar of values it skips (number syntax, control characters
// and escapes inside strings). Values it uses are checked when used.

// valKind is the JSON type of a scanned value.
type valKind uint8

const (
	vAbsent valKind = iota // the key was not seen
	vNull
	vBool
	vNumber
	vString
	vObject
	vArray
)

// span locates a scanned value in its buffer. For strings it is the text
// between the quotes (escapes not yet decoded); for everything else the
// whole value.
type span struct {
	start, end uint32
	kind       valKind
	esc        bool // a string with escapes
}

// isText reports whether the value counts as text: a non-empty string or a
// number (numbers where strings belong are kept as their literal text).
func (s span) isText() bool {
	return (s.kind == vString && s.end > s.start) || s.kind == vNumber
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(buf []byte, i int) int {
	for i < len(buf) && isWS(buf[i]) {
		i++
	}
	return i
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// zeroBytes has the top bit set in the lowest zero byte of v (and maybe in
// higher bytes: only the lowest set bit is exact).
func zeroBytes(v uint64) uint64 { return (v - lsb) &^ v & msb }

// scanStringEnd returns the offset of the quote that closes the string
// whose text starts at buf[i], or -1, without looking for escapes inside:
// bytes.IndexByte finds each quote, and a quote after an odd run of
// backslashes is escaped.
func scanStringEnd(buf []byte, i int) int {
	for {
		j := bytes.IndexByte(buf[i:], '"')
		if j < 0 {
			return -1
		}
		q := i + j
		if buf[q-1] != '\\' { // buf[i-1] is a quote, so q-1 >= i-1 is safe
			return q
		}
		k := q - 1
		for k > i && buf[k-1] == '\\' {
			k--
		}
		if (q-k)&1 == 0 {
			return q
		}
		i = q + 1
	}
}

func hasLiteral(buf []byte, i int, lit string) bool {
	return len(buf)-i >= len(lit) && string(buf[i:i+len(lit)]) == lit
}

// scanNumber returns the offset after the number at buf[i] (leniently: any
// run of number characters).
func scanNumber(buf []byte, i int) int {
	for i < len(buf) {
		switch c := buf[i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			i++
		default:
			return i
		}
	}
	return i
}

// scanKey scans `"key"` and the colon after it at buf[i]. It returns the
// key text (unescaped into keyBuf when it has escapes), whether it had
// escapes, and the offset of the value.
func (d *Decoder) scanKey(buf []byte, i int) ([]byte, bool, int, error) {
	if i >= len(buf) || buf[i] != '"' {
		return nil, false, 0, synErr(buf, i, "want an object key")
	}
	end := scanStringEnd(buf, i+1)
	if end < 0 {
		return nil, false, 0, synErr(buf, len(buf), "unterminated string")
	}
	key := buf[i+1 : end]
	esc := hasEscape(key)
	i = end + 1
	if i < len(buf) && buf[i] == ':' {
		i++
	} else {
		i = skipWS(buf, i)
		if i >= len(buf) || buf[i] != ':' {
			return nil, false, 0, synErr(buf, i, "want : after object key")
		}
		i++
	}
	if i < len(buf) && isWS(buf[i]) {
		i = skipWS(buf, i)
	}
	if esc {
		var err error
		d.keyBuf, err = appendUnescaped(d.keyBuf[:0], key)
		if err != nil {
			return nil, false, 0, &SyntaxError{Offset: i, Msg: "object key: " + err.Error()}
		}
		key = d.keyBuf
	}
	return key, esc, i, nil
}

// predKey is a key expected at some position of an object.
type predKey struct {
	tok string // `"Key":` — the key never holds a backslash or a quote
	col int16
}

// predictor remembers the keys of the last object of one kind, by
// position. Defender writes the columns of a table in a fixed order, so
// the next key is nearly always the one at the same position last time:
// checking it is one comparison instead of a scan and a lookup.
type predictor struct{ keys []predKey }

const (
	maxPredKeys  = 256  // positions remembered per predictor
	maxInterned  = 1024 // unknown key names remembered per Decoder
	numPredProps = 7    // properties predictors: by table, other tables hashed
)

// hasTok reports whether buf[i:] starts with tok, comparing eight bytes
// at a time.
func hasTok(buf []byte, i int, tok string) bool {
	n := len(tok)
	if n > len(buf)-i || n < 8 {
		return n <= len(buf)-i && string(buf[i:i+n]) == tok
	}
	b := buf[i : i+n : i+n]
	t := unsafe.Slice(unsafe.StringData(tok), n)
	// The first and last words (they overlap below 16 bytes), then the
	// middle ones.
	x := binary.LittleEndian.Uint64(b) ^ binary.LittleEndian.Uint64(t)
	x |= binary.LittleEndian.Uint64(b[n-8:]) ^ binary.LittleEndian.Uint64(t[n-8:])
	for o := 8; o < n-8; o += 8 {
		x |= binary.LittleEndian.Uint64(b[o:]) ^ binary.LittleEndian.Uint64(t[o:])
	}
	return x == 0
}

// slowKey scans the k-th key of an object at buf[i], looks it up, and
// teaches the predictor. It returns the column and the offset of the value.
func (d *Decoder) slowKey(buf []byte, i int, p *predictor, k int) (int, int, error) {
	key, esc, j, err := d.scanKey(buf, i)
	if err != nil {
		return 0, 0, err
	}
	col := lookupKey(key)
	if !esc && k <= len(p.keys) && k < maxPredKeys {
		d.learn(p, k, key, col)
	}
	return col, j, nil
}

// colToks holds the `"Key":` token of every column and shaping key.
var colToks = func() map[int]string {
	m := make(map[int]string)
	for c := range numCols {
		m[c] = `"` + colNames[c] + `":`
	}
	for _, c := range []int{keyProperties, keyRecords, keyBody} {
		m[c] = `"` + keyName(c) + `":`
	}
	return m
}()

// learn records key as the k-th key of p's objects. Known keys use static
// tokens; unknown ones are interned (up to maxInterned), so steady input
// allocates nothing.
func (d *Decoder) learn(p *predictor, k int, key []byte, col int) {
	tok, ok := colToks[col]
	if col == colNone || string(key) != keyName(col) { // unknown, or an alias ("Results")
		if tok, ok = d.interned[string(key)]; !ok {
			if len(d.interned) >= maxInterned {
				return
			}
			if d.interned == nil {
				d.interned = make(map[string]string)
			}
			tok = `"` + string(key) + `":`
			d.interned[string(key)] = tok
		}
	}
	if k == len(p.keys) {
		p.keys = append(p.keys, predKey{})
	}
	p.keys[k] = predKey{tok: tok, col: int16(col)}
}

// scanValue scans the value at buf[i] and returns its span and the offset
// after it.
func (d *Decoder) scanValue(buf []byte, i int) (span, int, error) {
	if i >= len(buf) {
		return span{}, 0, synErr(buf, i, "want a value")
	}
	switch c := buf[i]; c {
	case '"':
		end := scanStringEnd(buf, i+1)
		if end < 0 {
			return span{}, 0, synErr(buf, len(buf), "unterminated string")
		}
		return span{uint32(i + 1), uint32(end), vString, hasEscape(buf[i+1 : end])}, end + 1, nil
	case 'n':
		if hasLiteral(buf, i, "null") {
			return span{uint32(i), uint32(i + 4), vNull, false}, i + 4, nil
		}
	case 't':
		if hasLiteral(buf, i, "true") {
			return span{uint32(i), uint32(i + 4), vBool, false}, i + 4, nil
		}
	case 'f':
		if hasLiteral(buf, i, "false") {
			return span{uint32(i), uint32(i + 5), vBool, false}, i + 5, nil
		}
	case '{', '[':
		end, err := d.skipContainer(buf, i)
		if err != nil {
			return span{}, 0, err
		}
		k := vObject
		if c == '[' {
			k = vArray
		}
		return span{uint32(i), uint32(end), k, false}, end, nil
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			end := scanNumber(buf, i)
			return span{uint32(i), uint32(end), vNumber, false}, end, nil
		}
	}
	return span{}, 0, synErr(buf, i, "want a value")
}

// skipValue skips the value at buf[i] and returns the offset after it.
func (d *Decoder) skipValue(buf []byte, i int) (int, error) {
	if i < len(buf) {
		switch c := buf[i]; c {
		case '"':
			end := scanStringEnd(buf, i+1)
			if end < 0 {
				return 0, synErr(buf, len(buf), "unterminated string")
			}
			return end + 1, nil
		case '{', '[':
			return d.skipContainer(buf, i)
		}
	}
	_, i, err := d.scanValue(buf, i)
	return i, err
}

// skipContainer skips the object or array at buf[i] without recursion: the
// open brackets live in a bit stack (1 = object), so nesting depth costs
// one bit of memory per level and never the goroutine stack.
func (d *Decoder) skipContainer(buf []byte, i int) (int, error) {
	stack := d.stack[:0]
	depth := 0
	push := func(obj bool) {
		w, b := depth>>6, uint(depth&63)
		if w == len(stack) {
			stack = append(stack, 0)
		}
		if obj {
			stack[w] |= 1 << b
		} else {
			stack[w] &^= 1 << b
		}
		depth++
	}
	defer func() { d.stack = stack }()
	for i < len(buf) {
		c := buf[i]
		switch c {
		case '"':
			end := scanStringEnd(buf, i+1)
			if end < 0 {
				return 0, synErr(buf, len(buf), "unterminated string")
			}
			i = end + 1
			continue
		case '{', '[':
			push(c == '{')
		case '}', ']':
			if depth == 0 {
				return 0, synErr(buf, i, "unbalanced bracket")
			}
			depth--
			isObj := stack[depth>>6]&(1<<uint(depth&63)) != 0
			if isObj != (c == '}') {
				return 0, synErr(buf, i, "mismatched bracket")
			}
			if depth == 0 {
				return i + 1, nil
			}
		}
		i++
	}
	return 0, synErr(buf, i, "unterminated object or array")
}
