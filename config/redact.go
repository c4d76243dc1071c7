package config

import (
	"bytes"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/iocwatch/iocwatch/internal/urlcred"
)

// Redacted renders the effective configuration — defaults filled in,
// relative paths resolved — as YAML for `iocwatch check`. Every secret is
// shown as "[redacted]" ("" when unset), and so are the password and
// credential-like query parameters (key, token, sig, …) of URLs. A sink's
// URL (webhook, splunk_hec), which may be the credential itself, is shown
// as urlcred.Endpoint gives it: scheme://host, the first path segment when
// it is a plain word and more follows, "…" for the rest and "?…" for a
// query (https://hooks.slack.com/services/…). Blocks that their type does
// not use are left out. Parsing the result gives back the same
// configuration with those values replaced: '$' is doubled where
// expansion would read it.
//
// Inline exclusion rules are included; rules in exclusions_files are not.
func (c *Config) Redacted() string {
	var lines map[string]int
	if c.meta != nil {
		lines = c.meta.lines
	}
	root := encodeStruct(reflect.ValueOf(c).Elem(), "", lines)
	root.HeadComment = "iocwatch effective configuration; secrets are shown as " + redacted
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return "# cannot render the configuration: " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"
	}
	if err := enc.Close(); err != nil {
		return "# cannot render the configuration: " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"
	}
	return buf.String()
}

// encodeStruct renders the keys of struct v at path; keys of a block that
// its type does not use are left out unless they are set.
func encodeStruct(v reflect.Value, path string, lines map[string]int) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		sub := joinPath(path, f.name)
		if !f.allowed(v) && !isSet(fv, &f, sub, lines) {
			continue
		}
		if f.endpoint && fv.Kind() == reflect.String {
			addPair(m, f.name, strNode(urlcred.Endpoint(fv.String())))
			continue
		}
		addPair(m, f.name, encodeValue(fv, sub, lines))
	}
	return m
}

func encodeValue(v reflect.Value, path string, lines map[string]int) *yaml.Node {
	t := v.Type()
	switch {
	case t == durationType:
		return strNode(formatDuration(time.Duration(v.Int())))
	case t == secretType:
		return strNode(Secret(v.String()).shown())
	case t.Kind() == reflect.Struct:
		return encodeStruct(v, path, lines)
	case t.Kind() == reflect.Slice && t.Elem() == ruleType:
		return rulesNode(v.Interface().([]ExclusionRule))
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return stringsNode(v.Convert(reflect.TypeFor[[]string]()).Interface().([]string))
	case t.Kind() == reflect.Slice:
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		if v.Len() == 0 {
			seq.Style = yaml.FlowStyle
		}
		for i := range v.Len() {
			seq.Content = append(seq.Content, encodeValue(v.Index(i), indexPath(path, i), lines))
		}
		return seq
	case t.Kind() == reflect.Map:
		m := &yaml.Node{Kind: yaml.MappingNode}
		if v.Len() == 0 {
			m.Style = yaml.FlowStyle
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		for _, k := range keys {
			addPair(m, k, encodeValue(v.MapIndex(reflect.ValueOf(k)), path, lines))
		}
		return m
	case t.Kind() == reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}
	case t.Kind() == reflect.Float64:
		s := strconv.FormatFloat(v.Float(), 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: s}
	default:
		return strNode(redactURL(v.String()))
	}
}

// redactURL hides the password and the credential-like query parameters
// of a URL; anything else is returned as it is.
func redactURL(s string) string { return urlcred.Redact(s, redacted) }

// strNode is a string scalar, escaped so that Parse reads it back as is.
func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: escapeDollars(strings.ToValidUTF8(s, "\uFFFD"))}
	if strings.Contains(n.Value, "\n") {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func stringsNode(list []string) *yaml.Node {
	seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range list {
		seq.Content = append(seq.Content, strNode(s))
	}
	return seq
}

func addPair(m *yaml.Node, key string, val *yaml.Node) {
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val)
}

// formatDuration writes a duration the short way: 1h, 10m, 1h30m, 250ms.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
