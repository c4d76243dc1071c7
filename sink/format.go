package sink

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Format is the JSON shape an alert is encoded in. The zero value "" is not
// a format: constructors that take one treat it as FormatNative.
type Format string

// The alert formats.
const (
	// FormatNative is the Alert's own JSON: the field names of its json
	// tags, exactly what encoding/json.Marshal produces. docs/alerts.md
	// documents it.
	FormatNative Format = "native"
	// FormatOCSF is an OCSF 1.5.0 Detection Finding (class_uid 2004).
	// docs/alerts.md has the mapping field by field.
	FormatOCSF Format = "ocsf"
)

// Validate reports whether f is FormatNative or FormatOCSF.
func (f Format) Validate() error {
	switch f {
	case FormatNative, FormatOCSF:
		return nil
	}
	return fmt.Errorf("unknown alert format %q (want %q or %q)", string(f), FormatNative, FormatOCSF)
}

// validate is Validate, for the sinks of this package.
func (f Format) validate() error { return f.Validate() }

// errNilAlert is returned by EncodeJSON for a nil alert.
var errNilAlert = errors.New("encode alert: nil alert")

// EncodeJSON appends one JSON object for a in format f to dst (no newline)
// and returns the extended slice. It fails, leaving dst's contents as they
// were, on a nil alert, an unknown format, or a time whose year is outside
// 0–9999 (which JSON's RFC 3339 cannot carry). It allocates nothing when dst
// has room, and is safe for concurrent use (it does not modify a).
//
// Native output is byte for byte what encoding/json.Marshal(a) produces:
// field order and names from the json tags, HTML-safe escaping (<, >, & as
// \u003c…), invalid UTF-8 as U+FFFD.
func EncodeJSON(dst []byte, a *Alert, f Format) ([]byte, error) {
	if a == nil {
		return dst, errNilAlert
	}
	n := len(dst)
	var err error
	switch f {
	case FormatNative:
		dst, err = appendNative(dst, a)
	case FormatOCSF:
		dst, err = appendOCSF(dst, a)
	default:
		return dst, f.Validate()
	}
	if err != nil {
		return dst[:n], fmt.Errorf("encode alert %s as %s: %w", a.AlertID, f, err)
	}
	return dst, nil
}

// appendNative appends a's native JSON. Keep it in step with the Alert
// struct: TestNativeMatchesEncodingJSON fails when a field is added to
// Alert and not here.
func appendNative(b []byte, a *Alert) ([]byte, error) {
	var w jw
	w.b = b
	w.obj()
	w.str("alert_id", a.AlertID)
	w.time("detected_at", a.DetectedAt)
	w.time("timestamp", a.Timestamp)
	w.str("table", a.Table)
	w.str("DeviceId", a.DeviceID)
	w.str("DeviceName", a.DeviceName)
	w.str("ActionType", a.ActionType)
	w.strOmit("FileName", a.FileName)
	w.strOmit("InitiatingProcessFolderPath", a.FolderPath)
	w.strOmit("InitiatingProcessCommandLine", a.CommandLine)
	w.strOmit("InitiatingProcessSHA256", a.SHA256)
	w.strOmit("InitiatingProcessAccountName", a.AccountName)
	w.strOmit("RemoteIP", a.RemoteIP)
	w.intOmit("RemotePort", int64(a.RemotePort))
	w.strOmit("RemoteUrl", a.RemoteURL)
	w.strOmit("LocalIP", a.LocalIP)
	w.int("ReportId", a.ReportID)
	w.strOmit("TenantId", a.TenantID)
	w.strOmit("MachineGroup", a.MachineGroup)
	w.str("matched_field", a.MatchedField)
	w.str("matched_value", a.MatchedValue)
	w.key("indicator")
	w.obj()
	ind := &a.Indicator
	w.str("kind", ind.Kind)
	w.str("value", ind.Value)
	w.strOmit("source", ind.Source)
	w.strOmit("severity", ind.Severity)
	w.intOmit("confidence", int64(ind.Confidence))
	if len(ind.Tags) > 0 {
		w.strs("tags", ind.Tags)
	}
	w.strOmit("description", ind.Description)
	w.strOmit("reference", ind.Reference)
	w.end()
	if a.Retro {
		w.key("retro")
		w.b = append(w.b, "true"...)
	}
	w.timeOmit("indicator_added_at", a.IndicatorAddedAt)
	w.intOmit("repeat_count", int64(a.RepeatCount))
	w.timeOmit("first_seen", a.FirstSeen)
	w.timeOmit("last_seen", a.LastSeen)
	w.end()
	return w.b, w.err
}

// jw appends JSON. It tracks whether the current object or array needs a
// comma before its next member, and the first error (a time out of range).
type jw struct {
	b     []byte
	err   error
	first bool // the next member is the first of its object/array
}

func (w *jw) obj() { w.b = append(w.b, '{'); w.first = true }
func (w *jw) arr() { w.b = append(w.b, '['); w.first = true }
func (w *jw) end() { w.b = append(w.b, '}'); w.first = false }

func (w *jw) endArr() { w.b = append(w.b, ']'); w.first = false }

// sep writes the comma between members.
func (w *jw) sep() {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
}

func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...) // keys are constants: plain ASCII
	w.b = append(w.b, '"', ':')
}

func (w *jw) str(k, v string) {
	w.key(k)
	w.b = appendJSONString(w.b, v)
}

func (w *jw) strOmit(k, v string) {
	if v != "" {
		w.str(k, v)
	}
}

// elemStr writes v as the next array element.
func (w *jw) elemStr(v string) {
	w.sep()
	w.b = appendJSONString(w.b, v)
}

func (w *jw) strs(k string, vs []string) {
	w.key(k)
	w.arr()
	for _, v := range vs {
		w.elemStr(v)
	}
	w.endArr()
}

func (w *jw) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jw) intOmit(k string, v int64) {
	if v != 0 {
		w.int(k, v)
	}
}

func (w *jw) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

// time writes t as encoding/json does: RFC 3339 with nanoseconds, in t's
// own zone, failing for years outside 0–9999.
func (w *jw) time(k string, t time.Time) {
	w.key(k)
	w.b = append(w.b, '"')
	b, err := t.AppendText(w.b)
	if err != nil {
		if w.err == nil {
			w.err = fmt.Errorf("%s: %w", k, err)
		}
		b = w.b
	}
	w.b = append(b, '"')
}

func (w *jw) timeOmit(k string, t time.Time) {
	if !t.IsZero() {
		w.time(k, t)
	}
}

// millis writes t as Unix milliseconds (OCSF's timestamp_t).
func (w *jw) millis(k string, t time.Time) {
	w.int(k, t.UnixMilli())
}

const jsonHex = "0123456789abcdef"

// jsonHTMLSafe[c] is true for the ASCII bytes encoding/json writes unescaped
// with HTML escaping on.
var jsonHTMLSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString appends s quoted exactly as encoding/json does with
// HTML escaping on.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONEscaped(b, s)
	return append(b, '"')
}

// appendJSONEscaped appends the inside of s's JSON string (no quotes).
func appendJSONEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonHTMLSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
