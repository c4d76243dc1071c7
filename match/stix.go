package match

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// stixObj holds the STIX 2.1 object properties the loader reads.
type stixObj struct {
	Type        string   `json:"type"`
	ID          string   `json:"id"`
	Modified    string   `json:"modified"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Pattern     string   `json:"pattern"`
	PatternType string   `json:"pattern_type"`
	ValidFrom   string   `json:"valid_from"`
	ValidUntil  string   `json:"valid_until"`
	Revoked     bool     `json:"revoked"`
	Labels      []string `json:"labels"`
	Confidence  *float64 `json:"confidence"`

	CreatedByRef       string `json:"created_by_ref"`
	ExternalReferences []struct {
		SourceName string `json:"source_name"`
		URL        string `json:"url"`
	} `json:"external_references"`

	RelationshipType string `json:"relationship_type"`
	SourceRef        string `json:"source_ref"`
	TargetRef        string `json:"target_ref"`

	Objects []json.RawMessage `json:"objects"`
}

// stixNamed are the object types whose name an "indicates" relationship
// adds to an indicator's tags.
var stixNamed = map[string]bool{
	"malware": true, "threat-actor": true, "intrusion-set": true, "campaign": true,
	"tool": true, "attack-pattern": true, "infrastructure": true,
}

// loadSTIX reads Format "stix2": a bundle, a JSON list of objects, or one
// object. Only indicator objects with pattern_type "stix" (or none) give
// indicators; identities name the source (created_by_ref), and "indicates"
// relationships add the name of the malware, actor or campaign to the tags.
func loadSTIX(st *ldState, br *bufio.Reader) error {
	st.source = "stix"
	data, err := io.ReadAll(br)
	if err != nil {
		return fmt.Errorf("%s: read: %w", st.name, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	var raws []json.RawMessage
	switch {
	case len(trimmed) == 0:
		return fmt.Errorf("%s: empty file, not a STIX bundle", st.name)
	case trimmed[0] == '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return ldJSONError(st.name, data, err)
		}
	case trimmed[0] == '{':
		var top struct {
			Type    string            `json:"type"`
			Objects []json.RawMessage `json:"objects"`
		}
		if err := json.Unmarshal(data, &top); err != nil {
			return ldJSONError(st.name, data, err)
		}
		switch {
		case top.Type == "bundle":
			raws = top.Objects
		case top.Type != "":
			raws = []json.RawMessage{data}
		default:
			return fmt.Errorf("%s: not a STIX bundle or object (no \"type\")", st.name)
		}
	default:
		return fmt.Errorf("%s: not JSON, so not a STIX bundle", st.name)
	}

	objs := make([]*stixObj, len(raws))
	bad := map[int]error{} // objects that did not decode, reported in order below
	for i, raw := range raws {
		o := new(stixObj)
		if err := json.Unmarshal(raw, o); err != nil {
			bad[i] = err
			continue
		}
		objs[i] = o
	}
	older := stixOlderVersions(objs)
	names := map[string]string{}       // id → name of identities and named objects
	indicates := map[string][]string{} // indicator id → target ids
	for i, o := range objs {
		if o == nil || older[i] || o.Revoked {
			continue // a withdrawn name or relationship says nothing
		}
		switch {
		case o.Type == "identity" || stixNamed[o.Type]:
			if o.Name != "" {
				names[o.ID] = o.Name
			}
		case o.Type == "relationship" && o.RelationshipType == "indicates":
			indicates[o.SourceRef] = append(indicates[o.SourceRef], o.TargetRef)
		}
	}
	for i, o := range objs {
		if err := bad[i]; err != nil {
			st.refuse(stixOrigin(st.name, i, stixPeekID(raws[i])), "", "invalid STIX object: "+err.Error())
			continue
		}
		if o.Type != "indicator" {
			continue
		}
		if older[i] {
			st.skip("stix older version")
			continue
		}
		stixIndicator(st, stixOrigin(st.name, i, o.ID), o, names, indicates[o.ID])
	}
	return nil
}

// stixOlderVersions marks the objects that a later version of the same id
// replaces. STIX 2.1 versions an object by its id and "modified": a
// bundle may carry several versions, and only the latest stands (a
// revocation or a changed pattern in it undoes the older ones). As the
// TAXII store does, a version that is not older than the one kept (equal,
// or without a readable "modified") replaces it, so the last of equal
// versions in the file wins.
func stixOlderVersions(objs []*stixObj) map[int]bool {
	older := map[int]bool{}
	type kept struct {
		i   int
		mod time.Time
	}
	latest := map[string]kept{}
	for i, o := range objs {
		if o == nil || o.ID == "" {
			continue
		}
		mod, _ := ldParseTime(o.Modified)
		k, ok := latest[o.ID]
		switch {
		case !ok:
		case !mod.IsZero() && mod.Before(k.mod):
			older[i] = true
			continue
		default:
			older[k.i] = true
		}
		latest[o.ID] = kept{i, mod}
	}
	return older
}

func stixOrigin(name string, i int, id string) string {
	if id != "" {
		// The id is the feed's text: quoted when it is not printable, so
		// that the origin still starts with the feed's name.
		return name + ": " + printable(id)
	}
	return name + ": objects[" + strconv.Itoa(i) + "]"
}

// stixPeekID returns the "id" of an object that did not decode, if it can.
func stixPeekID(raw json.RawMessage) string {
	var o struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &o)
	return o.ID
}

func stixIndicator(st *ldState, origin string, o *stixObj, names map[string]string, targets []string) {
	if o.Revoked {
		if !st.withdraw("stix revoked") {
			return
		}
		defer st.endWithdraw()
	}
	if pt := strings.ToLower(o.PatternType); pt != "" && pt != "stix" {
		st.skip("stix pattern_type: " + pt)
		return
	}
	if strings.TrimSpace(o.Pattern) == "" {
		st.refuse(origin, "", "indicator without a pattern")
		return
	}
	var meta Meta
	var ok bool
	if o.ValidFrom != "" {
		if meta.ValidFrom, ok = ldParseTime(o.ValidFrom); !ok {
			st.refuse(origin, o.ValidFrom, "invalid valid_from")
			return
		}
	}
	if o.ValidUntil != "" {
		if meta.ValidUntil, ok = ldParseTime(o.ValidUntil); !ok {
			st.refuse(origin, o.ValidUntil, "invalid valid_until")
			return
		}
		if !st.now.Before(meta.ValidUntil) {
			if !st.withdraw("expired") {
				return
			}
			defer st.endWithdraw()
		}
		if !meta.ValidFrom.IsZero() && !meta.ValidFrom.Before(meta.ValidUntil) {
			// STIX 2.1 requires valid_until after valid_from: such an
			// indicator could never match.
			st.refuse(origin, o.ValidUntil, "valid_until is not after valid_from "+o.ValidFrom)
			return
		}
	}
	pat, err := stixParsePattern(o.Pattern)
	if err != nil {
		st.refuse(origin, o.Pattern, "stix pattern: "+err.Error())
		return
	}
	for _, r := range pat.Unsupported {
		st.skip(r)
	}
	if len(pat.Terms) == 0 {
		return
	}
	switch {
	case o.Name != "" && o.Description != "" && o.Name != o.Description:
		meta.Description = o.Name + ": " + o.Description
	case o.Name != "":
		meta.Description = o.Name
	default:
		meta.Description = o.Description
	}
	meta.Tags = ldAddTags(nil, o.Labels...)
	for _, t := range targets {
		if n := names[t]; n != "" {
			meta.Tags = ldAddTags(meta.Tags, n)
		}
	}
	for _, r := range o.ExternalReferences {
		if r.URL != "" {
			meta.Reference = r.URL
			break
		}
	}
	if o.Confidence != nil && *o.Confidence > 0 {
		meta.Confidence = min(int(*o.Confidence), 100)
	}
	if n := names[o.CreatedByRef]; n != "" {
		meta.Source = "stix:" + n
	}
	for _, t := range pat.Terms {
		kind, value, err := ldParseAs(stixPaths[t.Path], t.Value)
		if err != nil {
			st.refuse(origin, t.Value, err.Error())
			continue
		}
		st.emit(origin, 0, t.Value, kind, value, &meta)
	}
}
