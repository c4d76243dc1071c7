package stream

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// refDecode is the slow, obviously-correct model of Decoder.Decode: the
// same routing and column rules written over encoding/json's generic
// values. It answers only for input encoding/json accepts (comparable is
// false otherwise, and for a "body" string that is not valid JSON, which
// the real decoder may read more leniently). errs counts RecordErrors.
func refDecode(msg []byte) (evs []refEvent, errs int, comparable bool) {
	v, ok := refParse(msg)
	if !ok {
		return nil, 0, false
	}
	r := &refDecoder{comparable: true}
	r.message(v, 0)
	return r.evs, r.errs, r.comparable
}

// refEvent holds the key fields the fuzz target compares.
type refEvent struct {
	Table      Table
	RemoteIP   netip.Addr
	RemoteURL  string
	ReportID   int64
	DeviceName string
	ActionType string
	Timestamp  time.Time
}

// refOf projects an Event onto the compared fields, with invalid UTF-8
// replaced the way encoding/json replaces it (one U+FFFD per bad byte):
// the real decoder keeps the bytes as they are.
func refOf(e *Event) refEvent {
	return refEvent{Table: e.Table, RemoteIP: e.RemoteIP, RemoteURL: jsonUTF8(e.RemoteURL),
		ReportID: e.ReportID, DeviceName: jsonUTF8(e.DeviceName), ActionType: jsonUTF8(e.ActionType),
		Timestamp: e.Timestamp}
}

func jsonUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

func refParse(b []byte) (any, bool) {
	if !json.Valid(b) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

type refDecoder struct {
	evs        []refEvent
	errs       int
	comparable bool
}

func (r *refDecoder) message(v any, depth int) {
	switch v := v.(type) {
	case []any:
		r.records(v)
	case map[string]any:
		_, hasRecords := v["records"]
		_, hasResults := v["Results"]
		if hasRecords && hasResults {
			r.comparable = false // the decoder reads both arrays, in the order of the keys
		}
		if !hasRecords && hasResults {
			v["records"] = v["Results"] // the Advanced Hunting API's response
		}
		if recs, ok := v["records"]; ok {
			switch recs := recs.(type) {
			case []any:
				r.records(recs)
			case nil:
			default:
				r.errs++
			}
			return
		}
		if body, ok := v["body"]; ok {
			if depth >= maxBodyDepth {
				if body != nil {
					r.errs++
				}
				return
			}
			switch body := body.(type) {
			case map[string]any, []any:
				r.message(body, depth+1)
			case string:
				if body == "" {
					return
				}
				inner, ok := refParse([]byte(body))
				if !ok {
					r.comparable = false
					return
				}
				r.message(inner, depth+1)
			case nil:
			default:
				r.errs++
			}
			return
		}
		r.record(v)
	default:
		r.errs++
	}
}

func (r *refDecoder) records(recs []any) {
	for _, rec := range recs {
		if m, ok := rec.(map[string]any); ok {
			r.record(m)
		} else {
			r.errs++
		}
	}
}

// refText is a value as text: a string, or a number's literal.
func refText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	}
	return ""
}

func (r *refDecoder) record(top map[string]any) {
	// "properties" is an object, a JSON string holding one, or null;
	// anything else makes the record an error (docs/decoding.md).
	var props map[string]any
	switch p := top["properties"].(type) {
	case nil:
	case map[string]any:
		props = p
	case string:
		if t := strings.TrimLeft(p, " \t\r\n"); !strings.HasPrefix(t, "{") {
			r.errs++
			return
		}
		inner, ok := refParse([]byte(p))
		if !ok {
			r.comparable = false // the decoder may read broken text more leniently
			return
		}
		if props, ok = inner.(map[string]any); !ok {
			r.errs++
			return
		}
	default:
		r.errs++
		return
	}
	text := func(key string) string {
		if s := refText(props[key]); s != "" {
			return s
		}
		return refText(top[key])
	}
	table := TableOther
	routed := false
	for _, k := range []string{"category", "Table", "$table", "source_", "Type"} {
		if s := text(k); s != "" {
			table, routed = ParseTable(s), true
			break
		}
	}
	if !routed {
		_, a := top["RemoteIP"]
		_, b := top["RemoteUrl"]
		_, c := props["RemoteIP"]
		_, d := props["RemoteUrl"]
		if a || b || c || d {
			table = TableDeviceNetworkEvents
		}
	}
	if table == TableOther {
		return
	}
	e := refEvent{Table: table, DeviceName: text("DeviceName"), ActionType: text("ActionType")}
	if t, ok := refTime(text("Timestamp")); ok {
		e.Timestamp = t
	} else if t, ok := refTime(text("time")); ok {
		e.Timestamp = t
	}
	e.ReportID, _ = strconv.ParseInt(text("ReportId"), 10, 64)
	if a, err := netip.ParseAddr(text("RemoteIP")); err == nil {
		e.RemoteIP = a.Unmap().WithZone("")
	}
	e.RemoteURL = text("RemoteUrl")
	if e.RemoteURL == "" {
		e.RemoteURL = refInspected(e.ActionType, text, props, top)
	}
	r.evs = append(r.evs, e)
}

func refInspected(action string, text func(string) string, props, top map[string]any) string {
	switch action {
	case "HttpConnectionInspected", "SslConnectionInspected", "DnsConnectionInspected":
	case "DnsQueryResponse":
		if s := text("DnsQueryString"); s != "" {
			return s
		}
	default:
		return ""
	}
	var af map[string]any
	for _, m := range []map[string]any{props, top} {
		v, decided := m["AdditionalFields"], false
		switch v := v.(type) {
		case map[string]any:
			af, decided = v, true
		case json.Number, []any:
			decided = true
		case string:
			if v != "" {
				decided = true
				if inner, ok := refParse([]byte(v)); ok {
					af, _ = inner.(map[string]any)
				}
			}
		}
		if decided {
			break
		}
	}
	get := func(k string) string { return refText(af[k]) }
	switch action {
	case "HttpConnectionInspected":
		host, uri := get("host"), get("uri")
		lower := strings.ToLower(uri)
		if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
			return uri
		}
		if host != "" && strings.HasPrefix(uri, "/") {
			return "http://" + host + uri
		}
		return host
	case "SslConnectionInspected":
		return get("server_name")
	case "DnsConnectionInspected":
		return get("query")
	}
	return get("DnsQueryString")
}

// refTime tries the same layouts as parseTime, with time.Parse only.
func refTime(s string) (time.Time, bool) {
	for _, layout := range slowLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
