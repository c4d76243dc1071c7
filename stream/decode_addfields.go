package stream

import (
	"bytes"
	"strings"
)

// The AdditionalFields keys that carry the remote host of inspected events.
const (
	afHost           = iota // HttpConnectionInspected
	afURI                   // HttpConnectionInspected
	afServerName            // SslConnectionInspected
	afQuery                 // DnsConnectionInspected
	afDNSQueryString        // DnsQueryResponse, when not a column
	numAF
)

func afKey(k []byte) int {
	switch string(k) {
	case "host":
		return afHost
	case "uri":
		return afURI
	case "server_name":
		return afServerName
	case "query":
		return afQuery
	case "DnsQueryString":
		return afDNSQueryString
	}
	return -1
}

// inspectedURL is the RemoteURL of an event whose RemoteUrl is absent:
// the host an inspected event carries in AdditionalFields, or the
// DnsQueryString of a DnsQueryResponse. AdditionalFields is parsed only
// here, and only for these action types.
func (b *builder) inspectedURL(action string) string {
	switch action {
	case "HttpConnectionInspected", "SslConnectionInspected", "DnsConnectionInspected":
	case "DnsQueryResponse":
		if s := b.str(colDNSQueryString); s != "" {
			return s
		}
	default:
		return ""
	}
	inner, scratch, ok := b.additionalFields()
	if !ok {
		return ""
	}
	var vals [numAF]span
	if !b.d.afScan(inner, &vals) {
		return ""
	}
	val := func(k int) string { return b.d.afString(inner, vals[k], scratch) }
	switch action {
	case "HttpConnectionInspected":
		host, uri := val(afHost), val(afURI)
		if hasPrefixFold(uri, "http://") || hasPrefixFold(uri, "https://") {
			return uri
		}
		if host == "" || !strings.HasPrefix(uri, "/") {
			return host
		}
		d := b.d
		start := len(d.arena)
		d.arena = append(d.arena, "http://"...)
		d.arena = append(d.arena, host...)
		d.arena = append(d.arena, uri...)
		return bstr(d.arena[start:])
	case "SslConnectionInspected":
		return val(afServerName)
	case "DnsConnectionInspected":
		return val(afQuery)
	default: // DnsQueryResponse
		return val(afDNSQueryString)
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// additionalFields returns the JSON text of the AdditionalFields column:
// the object itself, or the text a string holds (unescaped into scratch,
// reported by inScratch). A value under "properties" wins unless it is
// null, "", false/true or missing.
func (b *builder) additionalFields() (text []byte, inScratch, ok bool) {
	for _, lv := range [...]*level{&b.st.props, &b.st.top} {
		if lv == &b.st.props && !b.st.hasProps {
			continue
		}
		s := lv.vals[colAdditionalFields]
		raw := lv.buf[s.start:s.end]
		switch {
		case s.kind == vObject:
			return raw, false, true
		case s.kind == vNumber || s.kind == vArray:
			return nil, false, false // present, but not an object
		case s.kind == vString && len(raw) > 0:
			if !s.esc {
				return raw, false, true
			}
			var err error
			b.d.scratch, err = appendUnescaped(b.d.scratch[:0], raw)
			if err != nil {
				return nil, false, false
			}
			return b.d.scratch, true, true
		}
	}
	return nil, false, false
}

// afString returns the text of an AdditionalFields value as a string that
// lives until Reset.
func (d *Decoder) afString(inner []byte, s span, inScratch bool) string {
	if !s.isText() {
		return ""
	}
	raw := inner[s.start:s.end]
	hasEsc := s.kind == vString && bytes.IndexByte(raw, '\\') >= 0
	if !hasEsc && !inScratch {
		return bstr(raw)
	}
	start := len(d.arena)
	if hasEsc {
		d.arena, _ = appendUnescaped(d.arena, raw) // afScan checked the escapes
	} else {
		d.arena = append(d.arena, raw...)
	}
	return bstr(d.arena[start:])
}

// afScan checks that text is one valid JSON object (RFC 8259, as strict as
// encoding/json) and records the spans of its top-level keys of interest;
// the last of duplicate keys wins. Anything else — truncated, invalid, not
// an object — gives false: the event simply has no host.
func (d *Decoder) afScan(text []byte, vals *[numAF]span) bool {
	i := skipWS(text, 0)
	if i >= len(text) || text[i] != '{' {
		return false
	}
	i = skipWS(text, i+1)
	if i < len(text) && text[i] == '}' {
		return skipWS(text, i+1) == len(text)
	}
	for {
		if i >= len(text) || text[i] != '"' {
			return false
		}
		end := strictString(text, i)
		if end < 0 {
			return false
		}
		key := text[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			d.keyBuf, _ = appendUnescaped(d.keyBuf[:0], key)
			key = d.keyBuf
		}
		k := afKey(key)
		i = skipWS(text, end)
		if i >= len(text) || text[i] != ':' {
			return false
		}
		i = skipWS(text, i+1)
		start := i
		if i = d.strictValue(text, i); i < 0 {
			return false
		}
		if k >= 0 {
			switch c := text[start]; {
			case c == '"':
				vals[k] = span{start: uint32(start + 1), end: uint32(i - 1), kind: vString}
			case c == '-' || (c >= '0' && c <= '9'):
				vals[k] = span{start: uint32(start), end: uint32(i), kind: vNumber}
			default:
				vals[k] = span{kind: vNull}
			}
		}
		i = skipWS(text, i)
		if i < len(text) && text[i] == ',' {
			i = skipWS(text, i+1)
			continue
		}
		if i < len(text) && text[i] == '}' {
			return skipWS(text, i+1) == len(text)
		}
		return false
	}
}

// maxStrictDepth is encoding/json's nesting limit.
const maxStrictDepth = 10000

// strictValue validates the JSON value at buf[i] without recursion and
// returns the offset after it, or -1.
func (d *Decoder) strictValue(buf []byte, i int) int {
	stack := d.stack[:0] // one bit per open container: 1 = object
	defer func() { d.stack = stack }()
	depth := 0
	isObj := func() bool { return stack[(depth-1)>>6]&(1<<uint((depth-1)&63)) != 0 }
	for {
		i = skipWS(buf, i)
		if i >= len(buf) {
			return -1
		}
		opened := false
		switch c := buf[i]; {
		case c == '{' || c == '[':
			if depth == maxStrictDepth {
				return -1
			}
			w, bit := depth>>6, uint(depth&63)
			if w == len(stack) {
				stack = append(stack, 0)
			}
			if c == '{' {
				stack[w] |= 1 << bit
			} else {
				stack[w] &^= 1 << bit
			}
			depth++
			i = skipWS(buf, i+1)
			switch {
			case c == '{' && i < len(buf) && buf[i] == '}', c == '[' && i < len(buf) && buf[i] == ']':
				depth--
				i++
			case c == '{':
				i = strictKey(buf, i)
				opened = true
			default:
				opened = true
			}
		case c == '"':
			i = strictString(buf, i)
		case c == 't':
			i = strictLiteral(buf, i, "true")
		case c == 'f':
			i = strictLiteral(buf, i, "false")
		case c == 'n':
			i = strictLiteral(buf, i, "null")
		case c == '-' || (c >= '0' && c <= '9'):
			i = strictNumber(buf, i)
		default:
			return -1
		}
		if i < 0 {
			return -1
		}
		if opened {
			continue
		}
		// After a complete value: close containers, or find the next one.
	after:
		for {
			if depth == 0 {
				return i
			}
			i = skipWS(buf, i)
			if i >= len(buf) {
				return -1
			}
			obj := isObj()
			switch c := buf[i]; {
			case c == ',':
				i = skipWS(buf, i+1)
				if obj {
					if i = strictKey(buf, i); i < 0 {
						return -1
					}
				}
				break after
			case obj && c == '}', !obj && c == ']':
				depth--
				i++
			default:
				return -1
			}
		}
	}
}

// strictKey validates `"key" :` at buf[i] and returns the offset after
// the colon, or -1.
func strictKey(buf []byte, i int) int {
	if i >= len(buf) || buf[i] != '"' {
		return -1
	}
	if i = strictString(buf, i); i < 0 {
		return -1
	}
	i = skipWS(buf, i)
	if i >= len(buf) || buf[i] != ':' {
		return -1
	}
	return i + 1
}

// strictString validates the string at buf[i] (a quote) — no control
// characters, only valid escapes — and returns the offset after it, or -1.
// Invalid UTF-8 is accepted, as encoding/json accepts it.
func strictString(buf []byte, i int) int {
	for i++; i < len(buf); {
		switch c := buf[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= len(buf) {
				return -1
			}
			switch buf[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if hex4(buf[i+2:]) < 0 {
					return -1
				}
				i += 6
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default:
			i++
		}
	}
	return -1
}

func strictLiteral(buf []byte, i int, lit string) int {
	if hasLiteral(buf, i, lit) {
		return i + len(lit)
	}
	return -1
}

// strictNumber validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// at buf[i] and returns the offset after it, or -1.
func strictNumber(buf []byte, i int) int {
	isDigit := func(i int) bool { return i < len(buf) && buf[i] >= '0' && buf[i] <= '9' }
	if i < len(buf) && buf[i] == '-' {
		i++
	}
	switch {
	case i < len(buf) && buf[i] == '0':
		i++
	case isDigit(i):
		for isDigit(i) {
			i++
		}
	default:
		return -1
	}
	if i < len(buf) && buf[i] == '.' {
		i++
		if !isDigit(i) {
			return -1
		}
		for isDigit(i) {
			i++
		}
	}
	if i < len(buf) && (buf[i] == 'e' || buf[i] == 'E') {
		i++
		if i < len(buf) && (buf[i] == '+' || buf[i] == '-') {
			i++
		}
		if !isDigit(i) {
			return -1
		}
		for isDigit(i) {
			i++
		}
	}
	return i
}
