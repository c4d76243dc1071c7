package config

import (
	"bytes"
	"fmt"
	"io"
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
// shown as "[redacted]" ("" when unset), and so are the password, the
// user name when it is a key (urlcred.UserIsKey: no password, and not an
// account's name), the credential-like query parameters (urlcred.IsParam)
// and the path segments and query values that look like tokens
// (urlcred.IsToken: an API key in a feed's path) of URLs. A sink's
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

// redactURL hides the password, a user name that is a key, the
// credential-like query parameters and the tokens in the path and query
// of a URL (urlcred.Redact); anything else is returned as it is.
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

// Format prints the configuration as fmt prints a struct, with every URL
// as Redacted shows it (see Feed.String, WebhookSink.Format,
// SplunkHECSink.Format, Checkpoint.Format), for every verb: a
// log.Printf("%+v", cfg) shows no credential written in a URL. Secrets
// print "[redacted]" on their own (see Secret).
func (c Config) Format(s fmt.State, verb rune) {
	type plain Config
	// Feed cannot have a Format method (it has a Format field): its URLs
	// are replaced here, so that verbs other than those of Feed.String
	// (%d) find nothing either.
	c.Feeds = slices.Clone(c.Feeds)
	for i := range c.Feeds {
		c.Feeds[i] = shownURLs(c.Feeds[i])
	}
	formatShown(s, verb, plain(c), "config.Config")
}

// String returns the feed as fmt's %+v prints a struct, with its URL as
// Redacted shows it: password, a user name that is a key,
// credential-like query values and path segments that look like tokens
// replaced by "[redacted]"; fmt uses it
// for %v, %+v, %s, %q, %x and %X. Secrets print "[redacted]" on their
// own (see Secret). Feed has a Format field, hence no Format method: other
// verbs (%d) print its fields raw, unless the feed is printed as part of
// a Config.
func (f Feed) String() string {
	type plain Feed
	return fmt.Sprintf("%+v", plain(shownURLs(f)))
}

// GoString returns the feed as fmt's %#v prints a struct, with its URL as
// String shows it.
func (f Feed) GoString() string {
	type plain Feed
	v := plain(shownURLs(f))
	return "config.Feed" + strings.TrimPrefix(fmt.Sprintf("%#v", v), fmt.Sprintf("%T", v))
}

// Format prints the sink as fmt prints a struct, with its URL as
// urlcred.Endpoint shows it (see Config.Redacted): the URL may be the
// credential itself.
func (w WebhookSink) Format(s fmt.State, verb rune) {
	type plain WebhookSink
	formatShown(s, verb, plain(shownURLs(w)), "config.WebhookSink")
}

// Format prints the sink as fmt prints a struct, with its URL as
// urlcred.Endpoint shows it (see Config.Redacted).
func (h SplunkHECSink) Format(s fmt.State, verb rune) {
	type plain SplunkHECSink
	formatShown(s, verb, plain(shownURLs(h)), "config.SplunkHECSink")
}

// Format prints the checkpoint store as fmt prints a struct, with its
// container URL as Redacted shows it (a SAS sig= replaced by
// "[redacted]").
func (c Checkpoint) Format(s fmt.State, verb rune) {
	type plain Checkpoint
	formatShown(s, verb, plain(shownURLs(c)), "config.Checkpoint")
}

// shownURLs returns v, a schema struct, with its string fields as
// Redacted shows them: an endpoint as urlcred.Endpoint gives it, any other
// URL without its credentials. Other values are left as they are.
func shownURLs[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	for _, f := range fieldsOf(rv.Type()) {
		fv := rv.Field(f.index)
		if fv.Kind() != reflect.String || fv.Type() == secretType {
			continue
		}
		if f.endpoint {
			fv.SetString(urlcred.Endpoint(fv.String()))
		} else {
			fv.SetString(redactURL(fv.String()))
		}
	}
	return v
}

// formatShown prints v, a method-less copy of a struct of the type called
// name, as the directive of s and verb asks; %#v names the type name.
func formatShown(s fmt.State, verb rune, v any, name string) {
	out := fmt.Sprintf(fmt.FormatString(s, verb), v)
	if verb == 'v' && s.Flag('#') {
		if rest, ok := strings.CutPrefix(out, fmt.Sprintf("%T", v)); ok {
			out = name + rest
		}
	}
	_, _ = io.WriteString(s, out)
}
