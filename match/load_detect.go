package match

import (
	"bytes"
	"path"
	"strings"
)

// DetectFormat guesses a feed's format from its first bytes (a few KiB are
// enough) and its name: "stix2" for a STIX bundle or indicator JSON,
// "misp" for a MISP event JSON, "feodo", "urlhaus", "threatfox" and
// "defender-csv" by their headers, "csv" for other comma-separated data
// (or a name ending in .csv), and "text" otherwise. It returns "" for JSON
// that is neither STIX nor MISP. It is safe for concurrent use.
func DetectFormat(name string, head []byte) string {
	h := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	h = bytes.TrimLeft(h, " \t\r\n")
	if txtIsJSONList(h) {
		return FormatText // a JSON list of values
	}
	if len(h) > 0 && (h[0] == '{' || h[0] == '[') {
		switch {
		case detJSONKV(h, "type", "bundle"), detJSONKV(h, "type", "indicator"),
			detJSONKey(h, "pattern"), detJSONKey(h, "spec_version"):
			return FormatSTIX2
		case detJSONKey(h, "Event"), detJSONKey(h, "Attribute"), detJSONKey(h, "Object"),
			detJSONKey(h, "response") && bytes.Contains(h, []byte(`"info"`)):
			return FormatMISP
		}
		return ""
	}
	// Look at the comment lines and the first data line.
	var lastComment, first string
	for rest := string(h); rest != ""; {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			continue
		case strings.HasPrefix(t, "#"):
			lastComment = strings.ToLower(t)
			if strings.Contains(lastComment, "ioc_value") && strings.Contains(lastComment, "ioc_type") {
				return FormatThreatFox
			}
			continue
		}
		first = strings.ToLower(t)
		break
	}
	switch {
	case strings.Contains(first, "ioc_value") && strings.Contains(first, "ioc_type"):
		return FormatThreatFox
	case strings.Contains(first, "first_seen_utc") && strings.Contains(first, "dst_ip"):
		return FormatFeodo
	case strings.Contains(first, "indicatortype") && strings.Contains(first, "indicatorvalue"):
		return FormatDefenderCSV
	case strings.Contains(lastComment, "dateadded") && strings.Contains(lastComment, "urlhaus_link"),
		strings.HasPrefix(strings.TrimLeft(lastComment, "# "), "id,dateadded,url"):
		return FormatURLhaus
	}
	switch strings.ToLower(path.Ext(strings.TrimRight(name, "/"))) {
	case ".csv":
		return FormatCSV
	case ".json":
		return ""
	}
	if strings.Contains(first, ",") {
		// A URL may hold commas: the line is text when it reads as one value.
		if _, _, err := ParseValue(first); err != nil {
			return FormatCSV
		}
	}
	return FormatText
}

// detJSONKey reports whether h holds `"key"` followed by optional space and ':'.
func detJSONKey(h []byte, key string) bool {
	pat := []byte(`"` + key + `"`)
	for off := 0; ; {
		i := bytes.Index(h[off:], pat)
		if i < 0 {
			return false
		}
		j := off + i + len(pat)
		for j < len(h) && (h[j] == ' ' || h[j] == '\t' || h[j] == '\r' || h[j] == '\n') {
			j++
		}
		if j < len(h) && h[j] == ':' {
			return true
		}
		off += i + 1
	}
}

// detJSONKV reports whether h holds `"key": "value"` (any spacing).
func detJSONKV(h []byte, key, value string) bool {
	pat := []byte(`"` + key + `"`)
	for off := 0; ; {
		i := bytes.Index(h[off:], pat)
		if i < 0 {
			return false
		}
		j := off + i + len(pat)
		for j < len(h) && (h[j] == ' ' || h[j] == '\t' || h[j] == '\r' || h[j] == '\n' || h[j] == ':') {
			j++
		}
		if bytes.HasPrefix(h[j:], []byte(`"`+value+`"`)) {
			return true
		}
		off += i + 1
	}
}
