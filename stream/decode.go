package stream

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Decoder decodes Defender messages into Events with a hand-written,
// single-pass scanner that extracts only the columns an Event needs.
//
// Decoder is not safe for concurrent use: use one per goroutine. The zero
// value is ready to use.
//
// Events alias the message they were decoded from and the decoder's arena
// (where strings with escapes are unescaped). They stay valid until the next
// call to Reset, and only while the message buffer is not reused. Call Reset
// once a batch's events are no longer used, or the arena grows without
// bound.
type Decoder struct {
	arena   []byte // unescaped strings; events alias it until Reset
	scratch []byte // transient: typed values with escapes, AdditionalFields text
	keyBuf  []byte // transient: object keys with escapes
	stack   []uint64

	top, rec recordState // the message's top object; one element of "records"

	// Key predictors (see predictor) and the unknown key names they use.
	predTop, predRec predictor
	predProps        [numPredProps]predictor
	interned         map[string]string

	stats DecodeStats

	// MaxRecords bounds the records decoded from one message: record
	// MaxRecords (0-based) and everything after it are not decoded, and one
	// RecordError wrapping ErrTooManyRecords names it. 0 or less: no bound.
	MaxRecords int

	// deferColumns leaves the columns of decode_defer.go to complete
	// (set by the pipeline's workers); pending holds their text for the
	// events decoded since the last Reset.
	deferColumns bool
	pending      []deferred

	// Per Decode call.
	out     []Event
	errs    []RecordError
	recNo   int  // index of the next record in the message
	failed  bool // a record-level syntax error ended the message
	limited bool // MaxRecords was reached and reported
}

// ErrTooManyRecords is the error of the first record past
// Decoder.MaxRecords: the rest of the message is not decoded.
var ErrTooManyRecords = errors.New("too many records in one message")

// DecodeStats counts what Decode saw since the last Reset. The zero value
// is an empty count.
//
// Records = ByTable[0] + ByTable[1] + ByTable[2] + the RecordErrors with
// Record >= 0: every record seen, whether decoded, skipped or broken.
type DecodeStats struct {
	// Records is every record seen: decoded, skipped or broken.
	Records int64
	// Watched is the records of watched tables that became Events.
	Watched int64
	// ByTable counts decoded records per Table (index by Table);
	// ByTable[TableOther] equals Skipped.
	ByTable [3]int64
	// Skipped is the records of other categories, counted and dropped.
	Skipped int64
	// Errors is the number of RecordErrors returned (records and whole
	// messages).
	Errors int64
}

// RecordError is one record (or a whole message, Record == -1) that could
// not be decoded. Record is the 0-based index of the record in its message.
type RecordError struct {
	Record int
	Err    error
}

// Error formats the error as "record 3: …" or "message: …".
func (e RecordError) Error() string {
	if e.Record < 0 {
		return "message: " + e.Err.Error()
	}
	return "record " + strconv.Itoa(e.Record) + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e RecordError) Unwrap() error { return e.Err }

// SyntaxError is malformed JSON at a byte offset of the message (or of the
// JSON text a "body" string holds).
type SyntaxError struct {
	Offset int
	Msg    string
}

// Error formats the error as "offset 12: unterminated string".
func (e *SyntaxError) Error() string {
	return "offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

func synErr(buf []byte, off int, msg string) error {
	if off >= len(buf) {
		return &SyntaxError{Offset: len(buf), Msg: "unexpected end of JSON: " + msg}
	}
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf("unexpected %q: %s", buf[off], msg)}
}

// maxBodyDepth caps how many {"body":…} wrappers may nest.
const maxBodyDepth = 8

var errBodyDepth = errors.New("more than 8 nested \"body\" wrappers")

// Decode decodes one message — an Event Hubs body {"records":[…]}, a bare
// record, a {"body":…} wrapper (body may be an object, or a JSON string
// holding JSON), a JSON array of records, or several of these one after the
// other (JSON Lines passed as one message) — and appends the events of
// watched tables (DeviceNetworkEvents, DeviceEvents) to dst. Records of other
// categories are counted and skipped. Surrounding whitespace, a trailing \r
// and a UTF-8 byte order mark are ignored; a blank message gives nothing.
//
// A broken record is reported in errs and the others still decode; a
// message that is not JSON at all gives one RecordError with Record -1.
// Malformed JSON inside a record ends the message there: earlier records
// are kept and the error names the record. Bad values (an unparsable
// RemoteIP, a port out of range) are not errors: the field is left absent.
// Decode never panics.
//
// Events alias msg and the decoder's arena: valid until the next call to
// Reset.
func (d *Decoder) Decode(msg []byte, dst []Event) (events []Event, errs []RecordError) {
	d.out, d.errs, d.recNo, d.failed, d.limited = dst, nil, 0, false, false
	if uint64(len(msg)) > math.MaxUint32 {
		d.messageErr(fmt.Errorf("message of %d bytes exceeds 4 GiB", len(msg)))
	} else {
		d.decodeMessage(msg, 0, 0)
	}
	events, errs = d.out, d.errs
	d.out, d.errs = nil, nil
	return events, errs
}

// Reset forgets the arena and the statistics. Call it when the events of
// the batch decoded since the last Reset are no longer used.
func (d *Decoder) Reset() {
	d.arena = d.arena[:0]
	d.pending = d.pending[:0]
	d.stats = DecodeStats{}
}

// Stats returns the counts since the last Reset.
func (d *Decoder) Stats() DecodeStats { return d.stats }

func (d *Decoder) messageErr(err error) {
	d.errs = append(d.errs, RecordError{Record: -1, Err: err})
	d.stats.Errors++
}

func (d *Decoder) recordErr(rec int, err error) {
	d.errs = append(d.errs, RecordError{Record: rec, Err: err})
	d.stats.Errors++
	d.stats.Records++
}

// decodeMessage decodes every JSON value in buf from offset start (a
// body object's: its errors name bytes of the message).
func (d *Decoder) decodeMessage(buf []byte, start, depth int) {
	i := skipWS(buf, start)
	if len(buf)-i >= 3 && buf[i] == 0xEF && buf[i+1] == 0xBB && buf[i+2] == 0xBF {
		i = skipWS(buf, i+3)
	}
	for i < len(buf) {
		var err error
		switch buf[i] {
		case '{':
			i, err = d.decodeTopObject(buf, i, depth)
		case '[':
			i, err = d.decodeRecordArray(buf, i)
		default:
			err = synErr(buf, i, "not a JSON object or array")
		}
		if err != nil {
			if d.failed {
				d.failed = false // the failing record was reported
			} else {
				d.messageErr(err)
			}
			return
		}
		i = skipWS(buf, i)
	}
}

// mark is the state to roll back to when a message repeats "records".
type mark struct {
	out, errs, recNo int
	stats            DecodeStats
}

// decodeTopObject decodes the object at buf[i]: an envelope, a wrapper or a
// bare record. It returns the offset after the object.
func (d *Decoder) decodeTopObject(buf []byte, i, depth int) (int, error) {
	st := &d.top
	st.reset(buf)
	var ts topState
	i, err := d.scanFields(buf, i, st, &st.top, &d.predTop, modeTop, &ts)
	if err != nil {
		return 0, err
	}
	return d.finishTop(buf, i, depth, ts.sawRecords, ts.body)
}

// topState is what a message's top object says about the message's shape.
type topState struct {
	sawRecords bool
	rollback   mark
	body       span
}

// topRecords handles the value of a top-level "records" key: an array of
// records, or null. A repeated "records" replaces the earlier one, so the
// events and errors of the earlier one are rolled back.
func (d *Decoder) topRecords(buf []byte, i int, ts *topState) (int, error) {
	if ts.sawRecords {
		r := &ts.rollback
		d.out, d.errs, d.recNo, d.stats = d.out[:r.out], d.errs[:r.errs], r.recNo, r.stats
	} else {
		ts.sawRecords = true
		ts.rollback = mark{out: len(d.out), errs: len(d.errs), recNo: d.recNo, stats: d.stats}
	}
	switch {
	case i < len(buf) && buf[i] == '[':
		return d.decodeRecordArray(buf, i)
	case hasLiteral(buf, i, "null"):
		return i + 4, nil
	}
	return 0, synErr(buf, i, `"records" is not an array`)
}

// finishTop handles the end of a top-level object: an envelope is done, a
// wrapper's body is decoded, and anything else is a bare record.
func (d *Decoder) finishTop(buf []byte, end, depth int, sawRecords bool, body span) (int, error) {
	switch {
	case sawRecords:
	case body.kind == vObject || body.kind == vArray:
		if depth >= maxBodyDepth {
			return 0, errBodyDepth
		}
		d.decodeMessage(buf[:body.end], int(body.start), depth+1)
	case body.kind == vString:
		if depth >= maxBodyDepth {
			return 0, errBodyDepth
		}
		// The body text must outlive this call (events alias it): unescape
		// it into the arena.
		start := len(d.arena)
		var err error
		d.arena, err = appendUnescaped(d.arena, buf[body.start:body.end])
		if err != nil {
			return 0, fmt.Errorf("\"body\" string: %w", err)
		}
		inner := d.arena[start:len(d.arena):len(d.arena)]
		if len(inner) == 0 {
			break
		}
		n := len(d.errs)
		d.decodeMessage(inner, 0, depth+1)
		for k := n; k < len(d.errs); k++ {
			d.errs[k].Err = fmt.Errorf("\"body\" JSON text: %w", d.errs[k].Err)
		}
	case body.kind == vNull:
	case body.kind != vAbsent:
		return 0, errors.New(`"body" is neither a JSON object, an array nor a string`)
	default:
		if err := d.overLimit(d.recNo); err != nil {
			return 0, err
		}
		d.finishRecord(d.recNo, &d.top)
		d.recNo++
	}
	return end, nil
}

// overLimit returns ErrTooManyRecords, and ends the message, when record
// rec is past MaxRecords; the first time it also reports it as rec's error.
func (d *Decoder) overLimit(rec int) error {
	if d.MaxRecords <= 0 || rec < d.MaxRecords {
		return nil
	}
	err := fmt.Errorf("%w: more than %d (rest of message not decoded)", ErrTooManyRecords, d.MaxRecords)
	if !d.limited {
		d.limited = true
		d.recordErr(rec, err)
	}
	d.failed = true
	return err
}

// decodeRecordArray decodes the array of records at buf[i] and returns the
// offset after it.
func (d *Decoder) decodeRecordArray(buf []byte, i int) (int, error) {
	i = skipWS(buf, i+1)
	if i < len(buf) && buf[i] == ']' {
		return i + 1, nil
	}
	for {
		rec := d.recNo
		if err := d.overLimit(rec); err != nil {
			return 0, err
		}
		d.recNo++
		if i < len(buf) && buf[i] == '{' {
			j, err := d.scanRecord(buf, i, &d.rec)
			if err != nil {
				d.recordErr(rec, fmt.Errorf("%w (rest of message not decoded)", err))
				d.failed = true
				return 0, err
			}
			d.finishRecord(rec, &d.rec)
			i = j
		} else {
			start := i
			j, err := d.skipValue(buf, i)
			if err != nil {
				d.recordErr(rec, fmt.Errorf("%w (rest of message not decoded)", err))
				d.failed = true
				return 0, err
			}
			d.recordErr(rec, &SyntaxError{Offset: start, Msg: "record is not a JSON object"})
			i = j
		}
		i = skipWS(buf, i)
		if i >= len(buf) {
			return 0, synErr(buf, i, "unterminated array")
		}
		if buf[i] == ',' {
			i = skipWS(buf, i+1)
			continue
		}
		if buf[i] == ']' {
			return i + 1, nil
		}
		return 0, synErr(buf, i, "want , or ] after array element")
	}
}

// scanRecord scans the record object at buf[i] into st and returns the
// offset after it.
func (d *Decoder) scanRecord(buf []byte, i int, st *recordState) (int, error) {
	st.reset(buf)
	return d.scanFields(buf, i, st, &st.top, &d.predRec, modeRecord, nil)
}

// scanProperties scans the value of a "properties" key. An object fills
// st.props; so does a JSON string whose text is an object (a relay that
// serialised the columns twice); null leaves st.props empty, and any
// other value is an error: columns silently missing would hide a hit. The
// last "properties" key wins, as for every key.
func (d *Decoder) scanProperties(buf []byte, i int, st *recordState) (int, error) {
	st.props.reset(buf)
	st.hasProps, st.propsErr = false, nil
	if i < len(buf) && buf[i] == '"' {
		return d.scanPropertiesText(buf, i, st)
	}
	if i >= len(buf) || buf[i] != '{' {
		if hasLiteral(buf, i, "null") {
			return i + 4, nil
		}
		end, err := d.skipValue(buf, i)
		if err != nil {
			return 0, err
		}
		st.propsErr = synErr(buf, i, `"properties" is neither an object nor a string holding one`)
		return end, nil
	}
	st.hasProps = true
	return d.scanColumns(buf, i, &st.props, &d.predProps[propsSlot(st)])
}

// scanPropertiesText scans a "properties" string at buf[i]: its text,
// unescaped into the arena (events alias it), is scanned as the object.
func (d *Decoder) scanPropertiesText(buf []byte, i int, st *recordState) (int, error) {
	end := scanStringEnd(buf, i+1)
	if end < 0 {
		return 0, synErr(buf, len(buf), "unterminated string")
	}
	start := len(d.arena)
	var err error
	d.arena, err = appendUnescaped(d.arena, buf[i+1:end])
	if err != nil {
		return 0, fmt.Errorf(`"properties" string: %w`, err)
	}
	inner := d.arena[start:len(d.arena):len(d.arena)]
	j := skipWS(inner, 0)
	if j < len(inner) && inner[j] == '{' {
		st.props.reset(inner)
		st.hasProps = true
		k, err := d.scanColumns(inner, j, &st.props, &d.predProps[propsSlot(st)])
		if err == nil && skipWS(inner, k) < len(inner) {
			err = synErr(inner, k, "text after the object")
		}
		if err != nil {
			st.hasProps = false
			st.propsErr = fmt.Errorf(`"properties" JSON text: %w`, err)
		}
		return end + 1, nil
	}
	st.propsErr = synErr(buf, i, `"properties" is a string that does not hold a JSON object`)
	return end + 1, nil
}

// scanColumns is scanFields for "properties", where every key is a column
// or unknown: the hottest loop, kept lean.
func (d *Decoder) scanColumns(buf []byte, i int, lv *level, pred *predictor) (int, error) {
	i = skipWS(buf, i+1)
	if i < len(buf) && buf[i] == '}' {
		return i + 1, nil
	}
	nextBS := -1 // as in scanFields
	keys := pred.keys
	for k := 0; ; k++ {
		col := colNone
		if k < len(keys) && hasTok(buf, i, keys[k].tok) {
			col = int(keys[k].col)
			i += len(keys[k].tok)
			if i < len(buf) && isWS(buf[i]) {
				i = skipWS(buf, i)
			}
		} else {
			var err error
			if col, i, err = d.slowKey(buf, i, pred, k); err != nil {
				return 0, err
			}
			keys = pred.keys
		}
		if i >= len(buf) {
			return 0, synErr(buf, i, "want a value")
		}
		if c := buf[i]; c == '"' {
			start := i + 1
			end := scanStringEnd(buf, start)
			if end < 0 {
				return 0, synErr(buf, len(buf), "unterminated string")
			}
			if uint(col) < numCols {
				if nextBS < start {
					if nextBS = bytes.IndexByte(buf[start:], '\\'); nextBS < 0 {
						nextBS = len(buf)
					} else {
						nextBS += start
					}
				}
				lv.vals[col] = span{uint32(start), uint32(end), vString, nextBS < end}
			}
			i = end + 1
		} else {
			var err error
			if uint(col) < numCols {
				lv.vals[col], i, err = d.scanValue(buf, i)
			} else {
				i, err = d.skipValue(buf, i)
			}
			if err != nil {
				return 0, err
			}
		}
		if i < len(buf) && buf[i] == ',' {
			i++
			if i < len(buf) && isWS(buf[i]) {
				i = skipWS(buf, i)
			}
			continue
		}
		i = skipWS(buf, i)
		if i >= len(buf) {
			return 0, synErr(buf, i, "unterminated object")
		}
		if buf[i] == ',' {
			i = skipWS(buf, i+1)
			continue
		}
		if buf[i] == '}' {
			return i + 1, nil
		}
		return 0, synErr(buf, i, "want , or } after object value")
	}
}

// The kinds of object scanFields reads ("properties" is scanColumns').
const (
	modeTop    = iota // a message's top object: "records", "body" and "properties" shape it
	modeRecord        // a record in "records": "properties" holds its columns
)

// scanFields scans a message's top object or a record at buf[i] (a '{'),
// storing the spans of the columns it finds in lv and handling the keys
// that shape the message, and returns the offset after it. The key is
// checked against the predicted one and string values are scanned in
// place; everything else goes through the general paths.
func (d *Decoder) scanFields(buf []byte, i int, st *recordState, lv *level, pred *predictor, mode int, ts *topState) (int, error) {
	i = skipWS(buf, i+1)
	if i < len(buf) && buf[i] == '}' {
		return i + 1, nil
	}
	// nextBS is the first backslash at or after the last string value (or
	// len(buf) when there is none): one IndexByte tells, for every string
	// up to it, that the string has no escapes.
	nextBS := -1
	for k := 0; ; k++ {
		var col int
		if uint(k) < uint(len(pred.keys)) && hasTok(buf, i, pred.keys[k].tok) {
			col = int(pred.keys[k].col)
			i += len(pred.keys[k].tok)
			if i < len(buf) && isWS(buf[i]) {
				i = skipWS(buf, i)
			}
		} else {
			var err error
			if col, i, err = d.slowKey(buf, i, pred, k); err != nil {
				return 0, err
			}
		}
		if i >= len(buf) {
			return 0, synErr(buf, i, "want a value")
		}
		var err error
		plain := col == colNone || (mode == modeRecord && col != keyProperties)
		switch {
		case buf[i] == '"' && (uint(col) < numCols || plain):
			start := i + 1
			end := scanStringEnd(buf, start)
			if end < 0 {
				return 0, synErr(buf, len(buf), "unterminated string")
			}
			if uint(col) < numCols {
				if nextBS < start {
					if nextBS = bytes.IndexByte(buf[start:], '\\'); nextBS < 0 {
						nextBS = len(buf)
					} else {
						nextBS += start
					}
				}
				lv.vals[col] = span{uint32(start), uint32(end), vString, nextBS < end}
			}
			i = end + 1
		case uint(col) < numCols:
			lv.vals[col], i, err = d.scanValue(buf, i)
		case plain:
			i, err = d.skipValue(buf, i)
		case col == keyProperties:
			i, err = d.scanProperties(buf, i, st)
		case col == keyBody:
			ts.body, i, err = d.scanValue(buf, i)
		default: // keyRecords
			i, err = d.topRecords(buf, i, ts)
		}
		if err != nil {
			return 0, err
		}
		if i < len(buf) && buf[i] == ',' {
			i++
			if i < len(buf) && isWS(buf[i]) {
				i = skipWS(buf, i)
			}
			continue
		}
		i = skipWS(buf, i)
		if i >= len(buf) {
			return 0, synErr(buf, i, "unterminated object")
		}
		if buf[i] == ',' {
			i = skipWS(buf, i+1)
			continue
		}
		if buf[i] == '}' {
			return i + 1, nil
		}
		return 0, synErr(buf, i, "want , or } after object value")
	}
}
