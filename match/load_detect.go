package match

import (
	"bytes"
	"path"
	"strings"
)

// DetectFormat guesses a feed's format from its first bytes (a few KiB are
// enough) and its name: "stix2" for a STIX bundle or indicator JSON,
// "misp" for a MISP event JSON, "feodo", "urlhaus", "threatfox" and
// "defender-csv" by their headers (a header written as the last '#'
// comment line counts), "csv" for other comma-separated data (or a name
// ending in .csv), and "text" otherwise. The first data line is judged as
// the text reader reads it: lines starting with ';' are comments, and an
// inline comment is cut before looking for commas. It returns "" for JSON
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
		case t == "", strings.HasPrefix(t, ";"):
			continue // blank, or a comment of a text list ("; Spamhaus DROP List …")
		case strings.HasPrefix(t, "#"):
			lastComment = strings.ToLower(t)
			if strings.Contains(lastComment, "ioc_value") && strings.Contains(lastComment, "ioc_type") {
				return FormatThreatFox
			}
			if strings.Contains(lastComment, "first_seen_utc") && strings.Contains(lastComment, "dst_ip") {
				return FormatFeodo // the header as a comment, as some versions of the list wrote it
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
	// A URL may hold commas, and so may the inline comment of a text line
	// ("203.0.113.5 # Emotet, epoch 4"): the line is text when, its
	// comment cut as the text reader cuts it, it reads as one value.
	if v := string(txtCutComment([]byte(first))); strings.Contains(v, ",") {
		if _, _, err := ParseValue(v); err != nil {
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
