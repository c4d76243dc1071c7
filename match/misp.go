package match

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// mispBool reads MISP's booleans: true/false, "1"/"0", 1/0, "true"/"false".
type mispBool bool

func (b *mispBool) UnmarshalJSON(data []byte) error {
	switch strings.Trim(string(data), `"`) {
	case "true", "1", "True":
		*b = true
	case "false", "0", "False", "", "null":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %s", data)
	}
	return nil
}

// mispStr reads a string that some MISP versions write as a number.
type mispStr string

func (s *mispStr) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		var v string
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		*s = mispStr(v)
		return nil
	}
	if string(data) == "null" {
		*s = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(data, &n); err != nil {
		return fmt.Errorf("not a string or number: %s", data)
	}
	*s = mispStr(n)
	return nil
}

type mispTag struct {
	Name string `json:"name"`
}

type mispEvent struct {
	Info          string  `json:"info"`
	UUID          string  `json:"uuid"`
	ThreatLevelID mispStr `json:"threat_level_id"`
	Orgc          *struct {
		Name string `json:"name"`
		UUID string `json:"uuid"`
	} `json:"Orgc"`
	Tag       []mispTag         `json:"Tag"`
	Attribute []json.RawMessage `json:"Attribute"`
	Object    []json.RawMessage `json:"Object"`
}

type mispObject struct {
	Name      string            `json:"name"`
	Deleted   mispBool          `json:"deleted"`
	Attribute []json.RawMessage `json:"Attribute"`
}

type mispAttr struct {
	Type    string    `json:"type"`
	Value   mispStr   `json:"value"`
	ToIDs   *mispBool `json:"to_ids"`
	Deleted mispBool  `json:"deleted"`
	Comment string    `json:"comment"`
	Tag     []mispTag `json:"Tag"`
}

// mispKind is how one MISP attribute type becomes indicators.
type mispKind uint8

const (
	mispIP       mispKind = iota + 1 // an address or prefix
	mispIPPort                       // "address|port"
	mispDomain                       // a domain (or hostname)
	mispHostPort                     // "hostname|port"
	mispDomainIP                     // "domain|address": both halves
	mispURL                          // a URL
)

// mispTypes are the attribute types iocwatch uses; every other type is
// skipped and counted.
var mispTypes = map[string]mispKind{
	"ip-dst": mispIP, "ip-src": mispIP,
	"ip-dst|port": mispIPPort, "ip-src|port": mispIPPort,
	"domain": mispDomain, "hostname": mispDomain,
	"hostname|port": mispHostPort,
	"domain|ip":     mispDomainIP,
	"url":           mispURL,
}

// mispSkipToIDs is the skip reason of an attribute whose to_ids is false:
// context, not a detection indicator. A MISP CSV export's to_ids column
// counts under the same reason (csvfRowIndicator).
const mispSkipToIDs = "misp to_ids=false"

// mispSeverity maps threat_level_id.
var mispSeverity = map[mispStr]string{"1": "high", "2": "medium", "3": "low"}

// loadMISP reads Format "misp": one event ({"Event":{…}} or the bare
// event), a JSON list of events, or a search result: {"response":[…]}
// (events) or {"response":{"Attribute":[…]}} (attributes).
func loadMISP(st *ldState, br *bufio.Reader) error {
	st.source = "misp"
	data, err := io.ReadAll(br)
	if err != nil {
		return fmt.Errorf("%s: read: %w", st.name, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	events, err := mispEvents(st.name, data)
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	if len(events) == 1 {
		var ev mispEvent
		if err := json.Unmarshal(events[0], &ev); err != nil {
			return fmt.Errorf("%s: invalid MISP event: %w", st.name, err)
		}
		mispLoadEvent(st, st.name+": ", &ev)
		return nil
	}
	for i, raw := range events {
		prefix := st.name + ": Event[" + strconv.Itoa(i) + "]"
		var ev mispEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			st.refuse(prefix, "", "invalid MISP event: "+err.Error())
			continue
		}
		mispLoadEvent(st, prefix+".", &ev)
	}
	return nil
}

// mispEvents returns the raw events of a MISP document; errors name the feed.
func mispEvents(name string, data []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%s: empty file, not a MISP event", name)
	}
	unwrap := func(raw json.RawMessage) json.RawMessage {
		var w struct {
			Event json.RawMessage `json:"Event"`
		}
		if json.Unmarshal(raw, &w) == nil && len(w.Event) > 0 {
			return w.Event
		}
		return raw
	}
	switch trimmed[0] {
	case '[':
		var list []json.RawMessage
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, ldJSONError(name, data, err)
		}
		for i := range list {
			list[i] = unwrap(list[i])
		}
		return list, nil
	case '{':
		var top map[string]json.RawMessage
		if err := json.Unmarshal(data, &top); err != nil {
			return nil, ldJSONError(name, data, err)
		}
		if ev, ok := top["Event"]; ok {
			return []json.RawMessage{ev}, nil
		}
		if resp, ok := top["response"]; ok {
			if r := bytes.TrimLeft(resp, " \t\r\n"); len(r) > 0 && r[0] == '{' {
				// /attributes/restSearch: {"response":{"Attribute":[…]}},
				// read as one event holding those attributes.
				var attrs map[string]json.RawMessage
				if err := json.Unmarshal(r, &attrs); err != nil {
					return nil, fmt.Errorf("%s: MISP response: %w", name, err)
				}
				if _, ok := attrs["Attribute"]; !ok {
					return nil, fmt.Errorf("%s: MISP response: an object without an Attribute list (want the result of /events/restSearch or /attributes/restSearch)", name)
				}
				return []json.RawMessage{r}, nil
			}
			var list []json.RawMessage
			if err := json.Unmarshal(resp, &list); err != nil {
				return nil, fmt.Errorf("%s: MISP response: want a list of events or an object with an Attribute list (the results of /events/restSearch and /attributes/restSearch): %w", name, err)
			}
			for i := range list {
				list[i] = unwrap(list[i])
			}
			return list, nil
		}
		_, a := top["Attribute"]
		_, o := top["Object"]
		_, inf := top["info"]
		if a || o || inf {
			return []json.RawMessage{data}, nil
		}
		if mispIsManifest(top) {
			return nil, fmt.Errorf("%s: a MISP feed's manifest.json (an index of its events, without their attributes), not an event: load the event files it lists, <uuid>.json", name)
		}
		return nil, fmt.Errorf("%s: not a MISP event (no Event, Attribute, Object or info key)", name)
	}
	return nil, fmt.Errorf("%s: not JSON, so not a MISP event", name)
}

// mispIsManifest reports whether a JSON object is a MISP feed's
// manifest.json: event UUIDs as keys, each an object with the event's
// "info" (and Orgc, Tag, date, …) but no attributes.
func mispIsManifest(top map[string]json.RawMessage) bool {
	if len(top) == 0 {
		return false
	}
	for _, raw := range top {
		var ev map[string]json.RawMessage
		if json.Unmarshal(raw, &ev) != nil {
			return false
		}
		if _, ok := ev["info"]; !ok {
			return false
		}
	}
	return true
}

func mispLoadEvent(st *ldState, prefix string, ev *mispEvent) {
	var meta Meta
	meta.Description = ev.Info
	meta.Severity = mispSeverity[ev.ThreatLevelID]
	switch {
	case ev.Orgc != nil && ev.Orgc.Name != "":
		meta.Source = "misp:" + ev.Orgc.Name
	case ev.UUID != "":
		meta.Source = "misp:" + ev.UUID
	}
	for _, t := range ev.Tag {
		meta.Tags = ldAddTags(meta.Tags, t.Name)
	}
	attrs := make([]*mispAttr, len(ev.Attribute))
	for i, raw := range ev.Attribute {
		a := new(mispAttr)
		if err := json.Unmarshal(raw, a); err != nil {
			st.refuse(prefix+"Attribute["+strconv.Itoa(i)+"]", "", "invalid MISP attribute: "+err.Error())
			continue
		}
		attrs[i] = a
		// The event's first link is the analyst's reference.
		if meta.Reference == "" && a.Type == "link" && !a.Deleted {
			meta.Reference = string(a.Value)
		}
	}
	for i, a := range attrs {
		if a != nil {
			mispAttribute(st, prefix+"Attribute["+strconv.Itoa(i)+"]", a, &meta)
		}
	}
	for i, raw := range ev.Object {
		op := prefix + "Object[" + strconv.Itoa(i) + "]"
		var o mispObject
		if err := json.Unmarshal(raw, &o); err != nil {
			st.refuse(op, "", "invalid MISP object: "+err.Error())
			continue
		}
		for j, raw := range o.Attribute {
			ap := op + ".Attribute[" + strconv.Itoa(j) + "]"
			a := new(mispAttr)
			if err := json.Unmarshal(raw, a); err != nil {
				st.refuse(ap, "", "invalid MISP attribute: "+err.Error())
				continue
			}
			// A deleted object's attributes are deleted with it, whether
			// or not the producer marked each one (MISP does; not every
			// tool that writes MISP JSON does).
			a.Deleted = a.Deleted || o.Deleted
			mispAttribute(st, ap, a, &meta)
		}
	}
}

func mispAttribute(st *ldState, origin string, a *mispAttr, evMeta *Meta) {
	if a.Deleted {
		if !st.withdraw("misp deleted") {
			return
		}
		defer st.endWithdraw()
	}
	typ := strings.ToLower(a.Type)
	mk, ok := mispTypes[typ]
	if !ok {
		st.skip("misp type: " + typ)
		return
	}
	if a.ToIDs != nil && !*a.ToIDs {
		if !st.withdraw(mispSkipToIDs) {
			return
		}
		defer st.endWithdraw()
	}
	meta := *evMeta
	if len(a.Tag) > 0 {
		meta.Tags = append([]string(nil), evMeta.Tags...)
		for _, t := range a.Tag {
			meta.Tags = ldAddTags(meta.Tags, t.Name)
		}
	}
	if c := strings.TrimSpace(a.Comment); c != "" {
		if meta.Description == "" {
			meta.Description = c
		} else {
			meta.Description += ": " + c
		}
	}
	raw := string(a.Value)
	one := func(want Kind, v string) {
		kind, value, err := ldParseAs(want, v)
		if err != nil {
			st.refuse(origin, raw, typ+": "+err.Error())
			return
		}
		st.emit(origin, 0, raw, kind, value, &meta)
	}
	switch mk {
	case mispIP:
		one(KindIP, raw)
	case mispIPPort:
		v, _, _ := mispCutLast(raw)
		one(KindIP, v)
	case mispDomain:
		one(KindDomain, raw)
	case mispHostPort:
		v, _, _ := mispCutLast(raw)
		one(KindDomain, v)
	case mispDomainIP:
		mispDomainIPValue(st, origin, 0, raw, &meta)
	case mispURL:
		one(KindURL, raw)
	}
}

// mispDomainIPValue loads a MISP domain|ip value
// ("update-check.example|203.0.113.10"), of an attribute of MISP JSON or a
// row of MISP's CSV export alike: both halves, a domain and an ip, each
// classified and guarded on its own, so that a half that is refused (with
// the whole value, at origin where and line, as for ldState.emit) leaves
// the other loaded. A value without a '|' is refused.
func mispDomainIPValue(st *ldState, where string, line int, raw string, meta *Meta) {
	d, ip, ok := strings.Cut(raw, "|")
	if !ok {
		st.refuse(ldOrigin(where, line), raw, "domain|ip: no '|' between the domain and the address")
		return
	}
	for _, half := range [...]struct {
		kind  Kind
		value string
	}{{KindDomain, d}, {KindIP, ip}} {
		kind, value, err := ldParseAs(half.kind, half.value)
		if err != nil {
			st.refuse(ldOrigin(where, line), raw, "domain|ip: "+err.Error())
			continue
		}
		st.emit(where, line, raw, kind, value, meta)
	}
}

// mispSplitTags splits the tag names of a cell of MISP's CSV export
// (attribute_tag, and event_tag with includeContext), which CsvExport
// joins with ',' and escapes nothing. MISP writes a quote in one place:
// around a machine tag's value, after its '=' and ending the tag
// (misp-galaxy:threat-actor="APT 28, Fancy Bear"; the country galaxy's
// misp-galaxy:country="bonaire, saint eustatius and saba "). So a quoted
// value opens at a quote that follows '=' or starts a tag (a free tag
// quoted whole), and closes at the first quote after it that ends the
// cell or is followed by ','; the commas inside are the tag's. Any other
// quote — in a free tag's name (pipe:12", a"b), or one that no such
// quote closes — is a character of its tag. A comma in a free tag's name
// outside quotes is written as the separator is, and splits it: the cell
// cannot tell them apart.
func mispSplitTags(cell string) []string {
	var tags []string
	start := 0
	// blank is set while the tag so far is spaces only: a quote then
	// starts it (kept as a flag, so that many quotes after many spaces
	// cost no scan back over them).
	blank := true
	// closer is the quote that closes a value opened before it: -2 not
	// looked for yet, -1 none in the rest of the cell. A value opens only
	// after the last closer found, so the cell is scanned once.
	closer := -2
	for i := 0; i < len(cell); i++ {
		switch c := cell[i]; {
		case c == ',':
			tags = append(tags, cell[start:i])
			start, blank = i+1, true
		case c == '"':
			if blank || cell[i-1] == '=' { // not blank: a byte of the tag precedes
				if closer != -1 && closer <= i {
					closer = mispTagQuoteEnd(cell, i+1)
				}
				if closer > i {
					i = closer // the loop steps past it, to the ',' or the end
				}
			}
			blank = false
		case c != ' ':
			blank = false
		}
	}
	return append(tags, cell[start:])
}

// mispTagQuoteEnd returns the index of the first quote at or after from
// that ends cell or is followed by ',' (the end of a machine tag's quoted
// value), or -1.
func mispTagQuoteEnd(cell string, from int) int {
	for j := from; j < len(cell); j++ {
		if cell[j] == '"' && (j+1 == len(cell) || cell[j+1] == ',') {
			return j
		}
	}
	return -1
}

// mispCutLast cuts "value|port" at the last '|'.
func mispCutLast(s string) (before, after string, found bool) {
	if i := strings.LastIndexByte(s, '|'); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}
