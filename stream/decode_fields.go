package stream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"net/netip"
	"slices"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// The columns the decoder extracts, by key. Every column may appear at the
// record's top level and under "properties"; a non-empty value under
// "properties" wins.
const (
	colTime              = iota // envelope: when Defender received the event
	colTenantIDEnvelope         // envelope "tenantId"
	colTenantID                 // column "TenantId"
	colCategory                 // envelope "AdvancedHunting-<Table>"
	colTable                    // "Table" (CSVReader, forwarders)
	colDollarTable              // "$table"
	colSource                   // "source_" (find exports)
	colType                     // "Type" (Log Analytics exports)
	colTimestamp                //
	colDeviceID                 //
	colDeviceName               //
	colActionType               //
	colMachineGroup             //
	colReportID                 //
	colRemoteIP                 //
	colRemotePort               //
	colRemoteURL                //
	colLocalIP                  //
	colLocalPort                //
	colProtocol                 //
	colProcFileName             // InitiatingProcessFileName
	colProcFolderPath           // InitiatingProcessFolderPath
	colProcCommandLine          // InitiatingProcessCommandLine
	colProcSHA256               // InitiatingProcessSHA256
	colProcAccountName          // InitiatingProcessAccountName
	colProcAccountDomain        // InitiatingProcessAccountDomain
	colFileName                 // DeviceEvents FileName
	colAdditionalFields         //
	colDNSQueryString           // DeviceEvents DnsQueryResponse
	numCols

	// Keys that shape the message rather than fill a column.
	keyProperties = -2
	keyRecords    = -3
	keyBody       = -4
	colNone       = -1
)

// lookupKey maps an object key to its column (or key* / colNone). The Go
// compiler turns this switch into a jump on the length and a binary search
// among the few keys of that length.
func lookupKey(k []byte) int {
	switch string(k) {
	case "time":
		return colTime
	case "tenantId":
		return colTenantIDEnvelope
	case "TenantId":
		return colTenantID
	case "category":
		return colCategory
	case "Table":
		return colTable
	case "$table":
		return colDollarTable
	case "source_":
		return colSource
	case "Type":
		return colType
	case "Timestamp":
		return colTimestamp
	case "DeviceId":
		return colDeviceID
	case "DeviceName":
		return colDeviceName
	case "ActionType":
		return colActionType
	case "MachineGroup":
		return colMachineGroup
	case "ReportId":
		return colReportID
	case "RemoteIP":
		return colRemoteIP
	case "RemotePort":
		return colRemotePort
	case "RemoteUrl":
		return colRemoteURL
	case "LocalIP":
		return colLocalIP
	case "LocalPort":
		return colLocalPort
	case "Protocol":
		return colProtocol
	case "InitiatingProcessFileName":
		return colProcFileName
	case "InitiatingProcessFolderPath":
		return colProcFolderPath
	case "InitiatingProcessCommandLine":
		return colProcCommandLine
	case "InitiatingProcessSHA256":
		return colProcSHA256
	case "InitiatingProcessAccountName":
		return colProcAccountName
	case "InitiatingProcessAccountDomain":
		return colProcAccountDomain
	case "FileName":
		return colFileName
	case "AdditionalFields":
		return colAdditionalFields
	case "DnsQueryString":
		return colDNSQueryString
	case "properties":
		return keyProperties
	case "records", "Results": // "Results": the Advanced Hunting API's response
		return keyRecords
	case "body":
		return keyBody
	}
	return colNone
}

// level is the columns found in one object: the record itself or its
// "properties".
type level struct {
	buf  []byte
	vals [numCols]span
}

func (l *level) reset(buf []byte) {
	l.buf = buf
	l.vals = [numCols]span{}
}

// recordState is one record being decoded.
type recordState struct {
	top, props level
	hasProps   bool
	// propsErr is what was wrong with "properties" (not an object, nor a
	// string holding one): the record is an error, the message goes on.
	propsErr error
}

func (st *recordState) reset(buf []byte) {
	st.propsErr = nil
	st.top.reset(buf)
	if st.hasProps {
		st.props.reset(buf)
		st.hasProps = false
	}
}

// pick returns the buffer and span of a column's text: "properties" first,
// then the top level. The span is zero when the column is absent (missing,
// null, "", or not text).
func (st *recordState) pick(c int) ([]byte, span) {
	if st.hasProps {
		if s := st.props.vals[c]; s.isText() {
			return st.props.buf, s
		}
	}
	if s := st.top.vals[c]; s.isText() {
		return st.top.buf, s
	}
	return nil, span{}
}

// present reports whether the key appeared at all, whatever its value.
func (st *recordState) present(c int) bool {
	return st.top.vals[c].kind != vAbsent || (st.hasProps && st.props.vals[c].kind != vAbsent)
}

// hasEscape reports whether string text holds a backslash.
func hasEscape(raw []byte) bool {
	if len(raw) > 16 {
		return bytes.IndexByte(raw, '\\') >= 0
	}
	for len(raw) >= 8 {
		if zeroBytes(binary.LittleEndian.Uint64(raw)^(lsb*'\\')) != 0 {
			return true
		}
		raw = raw[8:]
	}
	for _, c := range raw {
		if c == '\\' {
			return true
		}
	}
	return false
}

// bstr aliases b as a string without copying.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// keyName is the key text of a column or structural key.
func keyName(col int) string {
	switch col {
	case keyProperties:
		return "properties"
	case keyRecords:
		return "records"
	case keyBody:
		return "body"
	}
	return colNames[col]
}

// propsSlot picks the properties predictor for a record by its category:
// each table writes its own column order.
func propsSlot(st *recordState) int {
	s := st.top.vals[colCategory]
	if s.kind != vString || s.end == s.start {
		return 0
	}
	raw := st.top.buf[s.start:s.end]
	switch ParseTable(bstr(raw)) {
	case TableDeviceNetworkEvents:
		return 1
	case TableDeviceEvents:
		return 2
	}
	return 3 + (len(raw)+int(raw[len(raw)-1]))%(numPredProps-3)
}

// fieldError names the column a broken value came from.
type fieldError struct {
	col string
	err error
}

func (e *fieldError) Error() string { return e.col + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

var colNames = [numCols]string{
	colTime: "time", colTenantIDEnvelope: "tenantId", colTenantID: "TenantId",
	colCategory: "category", colTable: "Table", colDollarTable: "$table", colSource: "source_",
	colType: "Type", colTimestamp: "Timestamp", colDeviceID: "DeviceId", colDeviceName: "DeviceName",
	colActionType: "ActionType", colMachineGroup: "MachineGroup", colReportID: "ReportId",
	colRemoteIP: "RemoteIP", colRemotePort: "RemotePort", colRemoteURL: "RemoteUrl",
	colLocalIP: "LocalIP", colLocalPort: "LocalPort", colProtocol: "Protocol",
	colProcFileName: "InitiatingProcessFileName", colProcFolderPath: "InitiatingProcessFolderPath",
	colProcCommandLine: "InitiatingProcessCommandLine", colProcSHA256: "InitiatingProcessSHA256",
	colProcAccountName: "InitiatingProcessAccountName", colProcAccountDomain: "InitiatingProcessAccountDomain",
	colFileName: "FileName", colAdditionalFields: "AdditionalFields", colDNSQueryString: "DnsQueryString",
}

// builder turns one scanned record into an Event. A broken escape in a
// used value sets err.
type builder struct {
	d   *Decoder
	st  *recordState
	err error
}

// fail records err for column c unless an earlier column failed: the
// record's error is its first.
func (b *builder) fail(c int, err error) {
	if b.err == nil {
		b.err = &fieldError{colNames[c], err}
	}
}

// str returns the column's text as a string that lives until Reset:
// aliasing the message when it has no escapes, else unescaped into the
// arena.
func (b *builder) str(c int) string {
	buf, s := b.st.pick(c)
	if s.kind == vAbsent {
		return ""
	}
	raw := buf[s.start:s.end]
	if !s.esc {
		return bstr(raw)
	}
	d := b.d
	start := len(d.arena)
	var err error
	d.arena, err = appendUnescaped(d.arena, raw)
	if err != nil {
		b.fail(c, err)
		d.arena = d.arena[:start]
		return ""
	}
	return bstr(d.arena[start:])
}

// tmp returns the column's text for immediate parsing (an address, a
// number, a time): it may point into the decoder's scratch buffer.
func (b *builder) tmp(c int) []byte {
	buf, s := b.st.pick(c)
	if s.kind == vAbsent {
		return nil
	}
	raw := buf[s.start:s.end]
	if !s.esc {
		return raw
	}
	var err error
	b.d.scratch, err = appendUnescaped(b.d.scratch[:0], raw)
	if err != nil {
		b.fail(c, err)
		return nil
	}
	return b.d.scratch
}

// finishRecord routes a scanned record and, for a watched table, appends
// its Event.
func (d *Decoder) finishRecord(rec int, st *recordState) {
	if st.propsErr != nil {
		d.recordErr(rec, st.propsErr)
		return
	}
	b := builder{d: d, st: st}
	table := b.table()
	if b.err != nil {
		d.recordErr(rec, b.err)
		return
	}
	if table == TableOther {
		d.stats.Records++
		d.stats.ByTable[TableOther]++
		d.stats.Skipped++
		return
	}
	arenaMark := len(d.arena)
	d.out = append(d.out, Event{Table: table})
	ev := &d.out[len(d.out)-1]
	if t, ok := parseTime(b.tmp(colTimestamp)); ok {
		ev.Timestamp = t
	} else if t, ok := parseTime(b.tmp(colTime)); ok {
		ev.Timestamp = t
	}
	if ev.TenantID = b.str(colTenantIDEnvelope); ev.TenantID == "" {
		ev.TenantID = b.str(colTenantID)
	}
	ev.DeviceID = b.str(colDeviceID)
	ev.DeviceName = b.str(colDeviceName)
	ev.ActionType = b.str(colActionType)
	ev.MachineGroup = b.str(colMachineGroup)
	// With deferColumns the columns of decode_defer.go keep their text for
	// complete, in this same order, so that errors come as without.
	var p deferred
	if !b.plain(colReportID, dReportID, &p) {
		ev.ReportID, _ = parseInt64(b.tmp(colReportID))
	}
	ev.RemoteIP = parseAddr(b.tmp(colRemoteIP))
	ev.RemotePort, _ = parsePort(b.tmp(colRemotePort))
	ev.RemoteURL = b.str(colRemoteURL)
	if !b.plain(colLocalIP, dLocalIP, &p) {
		ev.LocalIP = parseAddr(b.tmp(colLocalIP))
	}
	if !b.plain(colLocalPort, dLocalPort, &p) {
		ev.LocalPort, _ = parsePort(b.tmp(colLocalPort))
	}
	ev.Protocol = b.str(colProtocol)
	ev.ProcessFileName = b.str(colProcFileName)
	ev.ProcessFolderPath = b.checked(colProcFolderPath, dFolder, &p)
	ev.ProcessCommandLine = b.checked(colProcCommandLine, dCmd, &p)
	ev.ProcessSHA256 = b.str(colProcSHA256)
	ev.AccountName = b.str(colProcAccountName)
	ev.AccountDomain = b.str(colProcAccountDomain)
	ev.FileName = b.str(colFileName)
	if ev.RemoteURL == "" {
		ev.RemoteURL = b.inspectedURL(ev.ActionType)
	}
	if b.err != nil {
		d.out = d.out[:len(d.out)-1]
		d.arena = d.arena[:arenaMark]
		d.recordErr(rec, b.err)
		return
	}
	if p.todo != 0 { // only set with deferColumns
		p.buf = st.top.buf // a record's levels share its text
		d.pending = append(d.pending, p)
		ev.pending = int32(len(d.pending))
	}
	d.stats.Records++
	d.stats.ByTable[table]++
	d.stats.Watched++
}

// table routes a record: category, else Table, $table, source_ or Type,
// else DeviceNetworkEvents when a RemoteIP or RemoteUrl key is present.
func (b *builder) table() Table {
	if s := b.tmp(colCategory); len(s) > 0 {
		return ParseTable(bstr(s))
	}
	for _, c := range [...]int{colTable, colDollarTable, colSource, colType} {
		if s := b.tmp(c); len(s) > 0 {
			return ParseTable(bstr(s))
		}
	}
	if b.st.present(colRemoteIP) || b.st.present(colRemoteURL) {
		return TableDeviceNetworkEvents
	}
	return TableOther
}

// parseAddr parses an address, unmapping IPv4-mapped IPv6 and dropping any
// zone. Anything unparsable ("-", garbage) is the invalid Addr.
func parseAddr(s []byte) netip.Addr {
	if len(s) == 0 {
		return netip.Addr{}
	}
	if a, ok := parseIPv4(s); ok {
		return a
	}
	a, err := netip.ParseAddr(bstr(s))
	if err != nil {
		return netip.Addr{}
	}
	if a.Is4In6() {
		return a.Unmap()
	}
	return a.WithZone("")
}

// parseIPv4 is the fast path for dotted-quad IPv4 ("203.0.113.77"), with
// netip.ParseAddr's rules: four decimal fields 0–255, no leading zeros.
func parseIPv4(s []byte) (netip.Addr, bool) {
	var ip [4]byte
	i := 0
	for f := range 4 {
		if f > 0 {
			if i >= len(s) || s[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		if i >= len(s) || s[i]-'0' > 9 {
			return netip.Addr{}, false
		}
		v := uint(s[i] - '0')
		i++
		if v != 0 { // a field starting with 0 is just "0"
			for n := 1; n < 3 && i < len(s) && s[i]-'0' <= 9; n++ {
				v = v*10 + uint(s[i]-'0')
				i++
			}
			if v > 255 {
				return netip.Addr{}, false
			}
		}
		ip[f] = byte(v)
	}
	if i != len(s) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}

// parsePort parses a port number 0–65535 written as decimal digits (as
// strconv.ParseUint(s, 10, 16) does).
func parsePort(s []byte) (uint16, bool) {
	if len(s) == 0 {
		return 0, false
	}
	v := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
		if v > 65535 {
			return 0, false
		}
	}
	return uint16(v), true
}

// parseInt64 parses a decimal int64 with an optional sign (as
// strconv.ParseInt(s, 10, 64) does).
func parseInt64(s []byte) (int64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
		if len(s) == 0 {
			return 0, false
		}
	}
	var v uint64
	if len(s) <= 18 { // cannot overflow
		for _, c := range s {
			if c-'0' > 9 {
				return 0, false
			}
			v = v*10 + uint64(c-'0')
		}
	} else {
		const limit = 1 << 63
		for _, c := range s {
			if c-'0' > 9 || v > limit/10 {
				return 0, false
			}
			if v = v*10 + uint64(c-'0'); v > limit {
				return 0, false
			}
		}
		if v == limit && !neg {
			return 0, false
		}
	}
	if neg {
		return -int64(v), true // v == 1<<63 wraps to MinInt64, as intended
	}
	return int64(v), true
}

var (
	errBadEscape   = errors.New("invalid escape in string")
	errEndOfString = errors.New("string ends inside an escape")
)

// appendUnescaped appends the JSON string text s (between the quotes) to
// dst with its escapes decoded, as encoding/json does: \uXXXX surrogate
// pairs combine, and a lone surrogate becomes U+FFFD. Other bytes, invalid
// UTF-8 included, are copied as they are.
func appendUnescaped(dst, s []byte) ([]byte, error) {
	// The text never grows when unescaped; the 8 spare bytes let the copy
	// loop store whole words.
	dst = slices.Grow(dst, len(s)+8)
	out := dst[:cap(dst)]
	w, i := len(dst), 0
	for {
		// Copy the run up to the next backslash, eight bytes at a time.
		for i+8 <= len(s) {
			word := binary.LittleEndian.Uint64(s[i:])
			binary.LittleEndian.PutUint64(out[w:], word)
			if m := zeroBytes(word ^ (lsb * '\\')); m != 0 {
				k := bits.TrailingZeros64(m) >> 3
				i, w = i+k, w+k
				goto escape
			}
			i, w = i+8, w+8
		}
		for i < len(s) && s[i] != '\\' {
			out[w] = s[i]
			i, w = i+1, w+1
		}
		if i >= len(s) {
			return out[:w], nil
		}
	escape:
		if i+1 >= len(s) {
			return out[:w], errEndOfString
		}
		switch c := s[i+1]; {
		case c == '\\' || c == '"' || c == '/':
			out[w] = c
			i, w = i+2, w+1
			continue
		case c == 'b':
			out[w] = '\b'
		case c == 'f':
			out[w] = '\f'
		case c == 'n':
			out[w] = '\n'
		case c == 'r':
			out[w] = '\r'
		case c == 't':
			out[w] = '\t'
		case c == 'u':
			r := hex4(s[i+2:])
			if r < 0 {
				return out[:w], errBadEscape
			}
			i += 6
			if utf16.IsSurrogate(r) {
				dec := utf8.RuneError
				if len(s)-i >= 6 && s[i] == '\\' && s[i+1] == 'u' {
					if r2 := hex4(s[i+2:]); r2 >= 0 {
						dec = utf16.DecodeRune(r, r2)
					}
				}
				if dec != utf8.RuneError {
					i += 6 // a valid pair
				}
				r = dec
			}
			w += utf8.EncodeRune(out[w:], r) // at most 4 bytes for 6 or 12 read
			continue
		default:
			return out[:w], errBadEscape
		}
		i, w = i+2, w+1
	}
}

// hex4 decodes four hex digits at the start of s, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// parseTime parses a timestamp column: the RFC 3339 fast path, then the
// slower layouts. Absent or unparsable gives false.
func parseTime(s []byte) (time.Time, bool) {
	if len(s) == 0 {
		return time.Time{}, false
	}
	if t, ok := parseRFC3339UTC(s); ok {
		return t, true
	}
	return parseTimeSlow(bstr(s))
}
