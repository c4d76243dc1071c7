package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/iocwatch/iocwatch/internal/editdist"
	"github.com/iocwatch/iocwatch/internal/urlcred"
)

// maxFileBytes caps the size of a configuration or exclusions file.
const maxFileBytes = 16 << 20

// nodeBudget caps the YAML nodes visited while decoding one file, counting
// every visit through an alias, so that nested aliases cannot blow up.
const nodeBudget = 1 << 20

// Load reads, expands and decodes the configuration file at path, fills the
// defaults and resolves relative paths against the file's directory. It
// does not call Validate.
//
// Problems are reported together, each as an *Error naming path:line.
// Load is safe for concurrent use.
func Load(path string) (*Config, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	base := filepath.Dir(path)
	if abs, err := filepath.Abs(base); err == nil {
		base = abs
	}
	return parse(data, path, base, os.LookupEnv)
}

// Parse decodes a configuration held in memory. name is used in messages
// ("iocwatch.yaml:14: …") and its directory is the base of relative paths.
// Like Load, it expands ${ENV} references, reports unknown keys and type
// errors with their line, fills the defaults, and does not validate.
// Parse is safe for concurrent use.
func Parse(data []byte, name string) (*Config, error) {
	return parse(data, name, filepath.Dir(name), os.LookupEnv)
}

func parse(data []byte, name, base string, lookup func(string) (string, bool)) (*Config, error) {
	root, err := parseYAML(data, name)
	if err != nil {
		return nil, err
	}
	d := newDecoder(name, lookup)
	c := &Config{}
	if root != nil {
		d.value(root, reflect.ValueOf(c).Elem(), "")
	}
	if err := (&checker{errs: d.errs}).join(); err != nil {
		return nil, err
	}
	c.meta = &meta{file: name, lines: d.lines, nulls: d.nulls, expanded: d.expanded}
	applyDefaults(c)
	resolvePaths(reflect.ValueOf(c).Elem(), base)
	return c, nil
}

// ReadFile reads a configuration or exclusions file as Load does: at most
// 16 MiB, a larger file is an error naming it.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err // a *PathError too: "read DIR: is a directory"
	}
	if len(data) > maxFileBytes {
		return nil, &Error{File: path, Err: fmt.Errorf("larger than %d MiB", maxFileBytes>>20)}
	}
	return data, nil
}

// parseYAML parses a file of one YAML document and returns its root
// node, or nil when the file holds nothing. Empty documents — a bare
// "---" line, as a file that was concatenated or generated may end with,
// or a document of null — are ignored; a second document that holds
// something is an error at its line.
func parseYAML(data []byte, name string) (root *yaml.Node, err error) {
	defer func() {
		// The parser reports errors by value; this guards against a parser
		// bug turning hostile input into a crash.
		if r := recover(); r != nil {
			root, err = nil, &Error{File: name, Err: fmt.Errorf("the YAML parser failed: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		switch err := dec.Decode(&doc); {
		case errors.Is(err, io.EOF):
			return root, nil
		case err != nil:
			return nil, yamlError(name, data, err)
		}
		n := &doc
		if doc.Kind == yaml.DocumentNode {
			if len(doc.Content) == 0 {
				continue
			}
			n = doc.Content[0]
		}
		if isNull(n) {
			continue // an empty document
		}
		if root != nil {
			return nil, &Error{File: name, Line: doc.Line, Err: errors.New("a second YAML document: the file must hold exactly one")}
		}
		root = n
	}
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlParserProblems are the problems of the YAML library's parser (as
// opposed to its scanner). For them the library reports the 0-based line
// of the enclosing block, or of the problem when that block starts on the
// first line; yamlError adds one.
var yamlParserProblems = []string{
	"did not find expected <stream-start>", "did not find expected <document start>",
	"found undefined tag handle", "did not find expected node content",
	"did not find expected '-' indicator", "did not find expected key",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"found duplicate %YAML directive", "found incompatible YAML document",
	"found duplicate %TAG directive",
}

// unquotedExpansionInFlow finds a ${VAR} written bare inside [ ] or { },
// where YAML reads its brace as the start of a mapping.
var unquotedExpansionInFlow = regexp.MustCompile(`(?:^|[^$])[\[{](?:[^'"]*[,:])?\s*\$\{`)

const quoteExpansionHint = "; a ${VAR} inside [ ] or { } must be quoted, e.g. ['${VAR}']"

// yamlError turns a parser error into an *Error with the file and line,
// with a hint when the line holds a bare ${VAR} in a flow collection.
func yamlError(name string, data []byte, err error) error {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if slices.Contains(yamlParserProblems, m[2]) {
			line++
		}
		problem := m[2]
		if lines := bytes.Split(data, []byte("\n")); line >= 1 && line <= len(lines) && unquotedExpansionInFlow.Match(lines[line-1]) {
			problem += quoteExpansionHint
		}
		return &Error{File: name, Line: line, Err: errors.New(problem)}
	}
	problem := strings.TrimPrefix(msg, "yaml: ")
	// The library gives no line for these: find it in the text.
	if slices.Contains(yamlReaderProblems, problem) {
		if line, p, ok := encodingProblem(data); ok {
			return &Error{File: name, Line: line, Err: errors.New(p)}
		}
		return &Error{File: name, Err: errors.New(problem)}
	}
	lines := bytes.Split(data, []byte("\n"))
	var marker *regexp.Regexp
	m := unknownAnchor.FindStringSubmatch(problem)
	if m != nil {
		marker = regexp.MustCompile(`\*` + regexp.QuoteMeta(m[1]) + `(?:[\s,\]}]|$)`)
	} else if strings.HasPrefix(problem, "did not find expected") {
		marker = unquotedExpansionInFlow
	}
	for i, l := range lines {
		if marker != nil && marker.Match(l) {
			if marker == unquotedExpansionInFlow {
				problem += quoteExpansionHint
			}
			return &Error{File: name, Line: i + 1, Err: errors.New(problem)}
		}
	}
	if m != nil {
		return &Error{File: name, Err: errors.New(problem)}
	}
	// A problem of the scanner or parser on the first line: the library
	// leaves out "line 0" (its lines count from 0 there), not the problem.
	return &Error{File: name, Line: 1, Err: errors.New(problem)}
}

// yamlReaderProblems are the problems of the YAML library's reader, which
// decodes the characters of the file: it reports them without a line,
// and encodingProblem finds it.
var yamlReaderProblems = []string{
	"invalid leading UTF-8 octet", "invalid trailing UTF-8 octet", "incomplete UTF-8 octet sequence",
	"invalid length of a UTF-8 sequence", "invalid Unicode character", "control characters are not allowed",
}

// encodingProblem finds the first character of a UTF-8 file that YAML
// does not allow — a byte that is not UTF-8 (a file saved as Latin-1 or
// Windows-1252), or a control character — and returns its line and a
// message naming the byte or character and its column. A file that starts
// with a UTF-16 byte order mark is not looked into (ok false).
func encodingProblem(data []byte) (line int, problem string, ok bool) {
	if bytes.HasPrefix(data, []byte("\xff\xfe")) || bytes.HasPrefix(data, []byte("\xfe\xff")) {
		return 0, "", false
	}
	start := 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		start = 3
	}
	line, lineStart := 1, start
	for i := start; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		// The column is counted only at the problem: counted at every
		// character, a long line took time quadratic in its length.
		column := func() int { return utf8.RuneCount(data[lineStart:i]) + 1 }
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, fmt.Sprintf("not UTF-8 text (byte 0x%02X at column %d): save the file as UTF-8", data[i], column()), true
		case !yamlPrintable(r):
			escape := fmt.Sprintf(`"\u%04x"`, r)
			if r <= 0xff {
				escape = fmt.Sprintf(`"\x%02x"`, r)
			}
			return line, fmt.Sprintf("control character U+%04X at column %d is not allowed: write it as an escape (%s) in a double-quoted string", r, column(), escape), true
		case r == '\n', r == '\r' && (i+1 == len(data) || data[i+1] != '\n'):
			line++
			lineStart = i + size
		}
		i += size
	}
	return 0, "", false
}

// yamlPrintable reports whether YAML allows r in a file: tab, line
// breaks and the printable characters.
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7e, r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

var unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// decoder walks a YAML node tree into the schema structs by reflection,
// recording where every key was written and collecting every problem.
type decoder struct {
	file   string
	lookup func(string) (string, bool)
	errs   errorList
	lines  map[string]int // key path → line of its key
	// nulls holds the line of the keys written without a value (which
	// take their default), for messages only.
	nulls  map[string]int
	budget int
	// merging holds the mappings whose << merges are being read, to
	// refuse a mapping that merges itself.
	merging map[*yaml.Node]bool
	literal []string // key paths of secrets written in clear in the file
	// expanded holds the values that came from the environment, by key
	// path, so that validation messages can leave them out.
	expanded map[string]expansion
	// unread lists the key paths that had a problem, and notRule the
	// paths of exclusion rules that are not a mapping: the checks that
	// follow (checker.unread) leave them out.
	unread  []string
	notRule map[string]bool
}

// expansion is a value's text as written (with ${…} or $$) and as
// expanded; env says whether a ${…} reference was expanded in it (the
// value came from the environment, or from a reference's default), not
// only a $$.
type expansion struct {
	raw, value string
	env        bool
}

func newDecoder(file string, lookup func(string) (string, bool)) *decoder {
	return &decoder{file: file, lookup: lookup, lines: map[string]int{}, nulls: map[string]int{}, budget: nodeBudget,
		merging: map[*yaml.Node]bool{}, expanded: map[string]expansion{}, notRule: map[string]bool{}}
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.errs.add(d.file, line, path, fmt.Errorf(format, args...))
	if path != "" {
		d.unread = append(d.unread, path)
	}
}

// deref follows aliases and charges the node budget; it returns nil once
// the budget is spent (after reporting it once, at the node and key path
// being read).
func (d *decoder) deref(n *yaml.Node, path string) *yaml.Node {
	line := d.lines[path] // the list item being read, when path is one
	if line == 0 && n != nil {
		line = n.Line
	}
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.budget--
	if d.budget == 0 {
		d.errorf(line, path, "more than %d YAML nodes (aliases nested too deep?)", nodeBudget)
	}
	if d.budget <= 0 {
		return nil
	}
	return n
}

// standardTags are the YAML tags a file may write: those of the core
// schema, which change nothing since a key's type decides how its text is
// read.
var standardTags = []string{"!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!map", "!!seq", "!!merge"}

// badTag reports a tag other than the standard ones written on n (!env,
// !secret, !!binary): iocwatch gives them no meaning, and reading the text
// after one as it is would, for instance, make a variable's name the
// password.
func (d *decoder) badTag(n *yaml.Node, path string) bool {
	if n.Style&yaml.TaggedStyle == 0 || slices.Contains(standardTags, n.ShortTag()) {
		return false
	}
	d.errorf(n.Line, path, "the YAML tag %s is not supported: write ${NAME} for a value from the environment", n.Tag)
	return true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "nothing"
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[Secret]()
	ruleType     = reflect.TypeFor[ExclusionRule]()
)

// value decodes n into v. A null node leaves v as it is.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n = d.deref(n, path); n == nil || d.badTag(n, path) || isNull(n) {
		return
	}
	t := v.Type()
	switch {
	case t.Kind() == reflect.Struct:
		d.structure(n, v, path)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		d.stringList(n, v, path)
	case t.Kind() == reflect.Slice && t.Elem() == ruleType:
		d.rules(n, v, path)
	case t.Kind() == reflect.Slice:
		d.structList(n, v, path)
	case t.Kind() == reflect.Map:
		d.secretMap(n, v, path)
	default:
		raw, s, ok := d.scalar(n, path, t == secretType)
		if !ok {
			return
		}
		if err := setScalar(v, s); err != nil {
			d.errorf(n.Line, path, "%s", scalarError(raw, s, err))
		}
	}
}

// scalar returns the raw and the expanded text of a scalar node.
func (d *decoder) scalar(n *yaml.Node, path string, secret bool) (raw, s string, ok bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n.Line, path, "want a single value, found %s", describe(n))
		return "", "", false
	}
	s, used, errs := expand(n.Value, d.lookup)
	for _, err := range errs {
		d.errs.add(d.file, n.Line, path, err)
	}
	if len(errs) > 0 {
		d.unread = append(d.unread, path)
	}
	if (s != n.Value || used) && !secret { // a secret is never shown anyway, and must not be kept twice
		d.expanded[path] = expansion{raw: n.Value, value: s, env: used}
	}
	if secret && literalText(n.Value) {
		d.literal = append(d.literal, path)
	}
	return n.Value, s, len(errs) == 0
}

// literalText reports whether raw holds a secret written in the file: a
// value without any ${NAME} reference, or a reference's default. Text
// around a reference ("Bearer ${TOKEN}", a connection string whose key is
// ${KEY}) is taken for the frame of a secret that comes from the
// environment.
func literalText(raw string) bool {
	const mark = "\x00"
	withEmpty, _, _ := expand(raw, func(string) (string, bool) { return "", true })
	withSet, _, _ := expand(raw, func(string) (string, bool) { return mark, true })
	frame := strings.ReplaceAll(withSet, mark, "")
	switch {
	case withEmpty != frame:
		return true // a default stands in for an empty reference
	case withSet != frame:
		return false // references, framed by text
	default:
		return frame != ""
	}
}

// scalarError explains a conversion failure without showing a value that
// came from the environment.
func scalarError(raw, s string, err error) string {
	if raw != s {
		return fmt.Sprintf("%q expands to a value that %s", raw, err)
	}
	return fmt.Sprintf("%q %s", s, err)
}

// setScalar converts s to v's type.
func setScalar(v reflect.Value, s string) error {
	if v.Type() == durationType {
		dur, err := time.ParseDuration(s)
		if err != nil {
			// The hint to write a unit only when a unit is all that is
			// missing: 1_000 and 1e3 are decimal numbers, but 1_000s and
			// 1e3s are no durations either.
			if _, nerr := parseDecimal(s); nerr == nil {
				if _, uerr := time.ParseDuration(s + "s"); uerr == nil {
					return errors.New("is not a duration: write it with a unit, like 250ms, 5s or 1h")
				}
			}
			return errors.New("is not a duration (like 250ms, 5s, 1h30m)")
		}
		v.SetInt(int64(dur))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch {
		case strings.EqualFold(s, "true"):
			v.SetBool(true)
		case strings.EqualFold(s, "false"):
			v.SetBool(false)
		default:
			return errors.New("is not true or false")
		}
	case reflect.Int, reflect.Int64:
		i, err := parseWholeNumber(s, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := parseDecimal(s)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("cannot be stored in a %s", v.Type()) // a schema bug, caught by the tests
	}
	return nil
}

// parseWholeNumber reads s as a base-10 whole number of bitSize bits, an
// optional sign then digits, which an '_' may group as in YAML 1.1 and Go
// literals (1_048_576): each '_' must stand between two digits. The YAML
// library reads a plain 1_000 as the integer 1000 too, but also 1__0 and
// 1_, and 0x10 as 16: those stay errors here. Only a whole number can be
// out of range: strconv.ParseInt says so of "99999999999999999999KiB"
// too, as it stops at the digit that overflows.
func parseWholeNumber(s string, bitSize int) (int64, error) {
	digits, grouped := withoutDigitSeparators(s)
	switch {
	case !grouped && wholeNumber.MatchString(strings.ReplaceAll(s, "_", "")):
		// Say what is wrong when the '_' are: 1__0, 1_, _1.
		return 0, errors.New("is not a whole number: '_' may only stand between two digits, as in 1_048_576")
	case !grouped || !wholeNumber.MatchString(digits):
		return 0, errors.New("is not a whole number")
	}
	i, err := strconv.ParseInt(digits, 10, bitSize)
	if err != nil { // digits is a whole number: only its range is wrong
		return 0, errors.New("is out of range")
	}
	return i, nil
}

// wholeNumber is what strconv.ParseInt reads in base 10: an optional sign
// and digits.
var wholeNumber = regexp.MustCompile(`^[-+]?[0-9]+$`)

// decimalNumber is a decimal number as YAML's core schema writes one: an
// optional sign, digits with an optional fraction or a fraction alone,
// and an optional exponent.
var decimalNumber = regexp.MustCompile(`^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$`)

// parseDecimal reads s as a decimal number (decimalNumber: 0.5, .5, 1,
// 1e-3) whose digits an '_' may group as a whole number's
// (parseWholeNumber): each '_' must stand between two digits. The rest of
// what strconv.ParseFloat reads is refused: hexadecimal (0x1p-1), and
// Inf and NaN (YAML's .inf and .nan too). So are a number out of range
// (1e400) and one so close to 0 that it would read as 0 (1e-400). A zero
// is returned without its sign.
func parseDecimal(s string) (float64, error) {
	digits, grouped := withoutDigitSeparators(s)
	if !grouped || !decimalNumber.MatchString(digits) {
		switch {
		case !grouped && decimalNumber.MatchString(strings.ReplaceAll(s, "_", "")):
			return 0, errors.New("is not a decimal number: '_' may only stand between two digits, as in 0.000_1")
		case infinityOrNaN(s):
			return 0, errors.New("is not a decimal number: infinity and NaN are not allowed")
		}
		return 0, errors.New("is not a decimal number (like 0.5, .25 or 1e-3)")
	}
	f, err := strconv.ParseFloat(digits, 64)
	mantissa, _, _ := strings.Cut(strings.ToLower(digits), "e")
	switch {
	case math.IsInf(f, 0):
		return 0, errors.New("is out of range")
	case f == 0 && strings.ContainsAny(mantissa, "123456789"):
		return 0, errors.New("is out of range: too close to 0, it would read as 0")
	case err != nil: // not reached: digits is a decimal number
		return 0, errors.New("is not a decimal number (like 0.5, .25 or 1e-3)")
	case f == 0:
		return 0, nil // not -0
	}
	return f, nil
}

// infinityOrNaN reports whether s spells an infinity or NaN, as YAML
// (.inf, -.Inf, .NaN) or strconv.ParseFloat (Inf, +Infinity, nan) does.
func infinityOrNaN(s string) bool {
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		s = s[1:]
	}
	switch strings.ToLower(strings.TrimPrefix(s, ".")) {
	case "inf", "infinity", "nan":
		return true
	}
	return false
}

// withoutDigitSeparators returns s without the '_' that stand between two
// ASCII digits; ok is false when an '_' stands anywhere else.
func withoutDigitSeparators(s string) (digits string, ok bool) {
	if !strings.Contains(s, "_") {
		return s, true
	}
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '_' {
			b = append(b, s[i])
			continue
		}
		if i == 0 || i == len(s)-1 || !isDigit(s[i-1]) || !isDigit(s[i+1]) {
			return "", false
		}
	}
	return string(b), true
}

type pair struct{ key, val *yaml.Node }

// pairs returns the entries of a mapping: its own keys, then keys merged
// with "<<" that it does not set itself. It reports keys that are not
// plain values and keys written twice.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var own, merged []pair
	seen := map[string]int{}
	var merges []*yaml.Node
	mergeLine := 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.deref(n.Content[i], path)
		if k == nil {
			return nil
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, path, "a key must be a single value, found %s", describe(k))
			continue
		}
		if d.badTag(k, path) {
			continue
		}
		if k.ShortTag() == "!!merge" {
			if mergeLine > 0 {
				d.errorf(k.Line, path, "key %q is written twice (first on line %d): merge several mappings with a list, <<: [*a, *b]", k.Value, mergeLine)
				continue
			}
			mergeLine = k.Line
			merges = append(merges, n.Content[i+1])
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.errorf(k.Line, path, "key %q is written twice (first on line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		own = append(own, pair{k, n.Content[i+1]})
	}
	if len(merges) > 0 {
		d.merging[n] = true
		defer delete(d.merging, n)
	}
	for _, m := range merges {
		m = d.deref(m, path)
		if m == nil {
			return nil
		}
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, src := range srcs {
			if src = d.deref(src, path); src == nil {
				return nil
			}
			if d.badTag(src, path) {
				continue
			}
			if src.Kind != yaml.MappingNode {
				d.errorf(src.Line, path, "<< merges a mapping or a list of mappings, found %s", describe(src))
				continue
			}
			if d.merging[src] {
				d.errorf(mergeLine, path, "<< merges a mapping that holds this << (a recursive alias)")
				continue
			}
			for _, p := range d.pairs(src, path) {
				if _, dup := seen[p.key.Value]; !dup {
					seen[p.key.Value] = p.key.Line
					merged = append(merged, p)
				}
			}
		}
	}
	return append(own, merged...)
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "want a mapping of keys, found %s", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	for _, p := range d.pairs(n, path) {
		f := findField(fields, p.key.Value)
		if f == nil {
			d.unknownKey(p.key, path, fieldNames(fields))
			continue
		}
		sub := joinPath(path, f.name)
		val := d.deref(p.val, sub)
		if val == nil {
			continue
		}
		if isNull(val) {
			d.nulls[sub] = p.key.Line
			continue
		}
		d.lines[sub] = p.key.Line
		d.value(val, v.Field(f.index), sub)
		if f.endpoint && val.Kind == yaml.ScalarNode && literalText(val.Value) && len(urlcred.Hidden(v.Field(f.index).String())) > 0 {
			// A webhook URL written in the file whose path or query is
			// its credential (Slack, Teams): a secret in clear.
			d.literal = append(d.literal, sub)
		}
	}
}

func (d *decoder) unknownKey(k *yaml.Node, path string, valid []string) {
	where := "in " + path
	if path == "" {
		where = "at the top level"
	}
	if s := suggest(k.Value, valid); s != "" {
		d.errorf(k.Line, "", "unknown key %q %s (did you mean %q?)", k.Value, where, s)
		return
	}
	d.errorf(k.Line, "", "unknown key %q %s (valid keys: %s)", k.Value, where, strings.Join(valid, ", "))
}

func (d *decoder) stringList(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.MappingNode {
		d.errorf(n.Line, path, "want a list of values, found a mapping")
		return
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		sub := path
		if n.Kind == yaml.SequenceNode {
			sub = indexPath(path, i)
		}
		if item = d.deref(item, sub); item == nil {
			return
		}
		d.lines[indexPath(path, i)] = item.Line // the item was written in the file
		if d.badTag(item, sub) {
			continue
		}
		if isNull(item) {
			d.errorf(item.Line, sub, "empty list item")
			continue
		}
		if _, s, ok := d.scalar(item, sub, false); ok {
			out = append(out, s)
		}
	}
	v.Set(reflect.ValueOf(out).Convert(v.Type()))
}

func (d *decoder) structList(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n.Line, path, "want a list, found %s", describe(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		sub := indexPath(path, i)
		if item = d.deref(item, sub); item == nil {
			return
		}
		d.lines[sub] = item.Line
		if isNull(item) {
			d.errorf(item.Line, sub, "empty list item")
			continue
		}
		d.value(item, out.Index(i), sub)
	}
	v.Set(out)
}

func (d *decoder) secretMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "want a mapping, found %s", describe(n))
		return
	}
	out := reflect.MakeMap(v.Type())
	for _, p := range d.pairs(n, path) {
		sub := path + "[" + strconv.Quote(p.key.Value) + "]"
		val := d.deref(p.val, sub)
		if val == nil {
			return
		}
		d.lines[sub] = p.key.Line
		if d.badTag(val, sub) {
			continue
		}
		var s string
		if !isNull(val) {
			var ok bool
			if _, s, ok = d.scalar(val, sub, v.Type().Elem() == secretType); !ok {
				continue
			}
		}
		if s == "" {
			continue // an empty header is not sent: ${KEY:-} makes a header optional
		}
		out.SetMapIndex(reflect.ValueOf(p.key.Value), reflect.ValueOf(s).Convert(v.Type().Elem()))
	}
	v.Set(out)
}

func (d *decoder) rules(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n.Line, path, "want a list of rules, found %s", describe(n))
		return
	}
	out := make([]ExclusionRule, 0, len(n.Content))
	for i, item := range n.Content {
		sub := indexPath(path, i)
		if item = d.deref(item, sub); item == nil {
			return
		}
		d.lines[sub] = item.Line
		if d.badTag(item, sub) {
			d.notRule[sub] = true
			out = append(out, ExclusionRule{}) // keeps the index of the rules after it
			continue
		}
		if isNull(item) || item.Kind != yaml.MappingNode {
			d.errorf(item.Line, sub, "want a rule (a mapping with name, reason and when), found %s", describe(item))
			d.notRule[sub] = true
			out = append(out, ExclusionRule{}) // keeps the index of the rules after it
			continue
		}
		out = append(out, d.rule(item, sub))
	}
	v.Set(reflect.ValueOf(out))
}

// rule decodes one exclusion rule; the checks of required keys are left
// to checkRule.
func (d *decoder) rule(n *yaml.Node, path string) ExclusionRule {
	r := ExclusionRule{Origin: d.file + ":" + strconv.Itoa(n.Line)}
	for _, p := range d.pairs(n, path) {
		key := p.key.Value
		sub := joinPath(path, key)
		val := d.deref(p.val, sub)
		if val == nil {
			return r
		}
		if !slices.Contains(ruleKeys, key) {
			d.unknownKey(p.key, path, ruleKeys)
			continue
		}
		if d.badTag(val, sub) {
			continue
		}
		if isNull(val) {
			d.nulls[sub] = p.key.Line
			continue
		}
		d.lines[sub] = p.key.Line
		switch key {
		case "name", "reason":
			if _, s, ok := d.scalar(val, sub, false); ok {
				if key == "name" {
					r.Name = s
				} else {
					r.Reason = s
				}
			}
		case "expires":
			if raw, s, ok := d.scalar(val, sub, false); ok {
				t, err := parseExpiry(s)
				if err != nil {
					d.errorf(val.Line, sub, "%s", scalarError(raw, s, err))
				}
				r.Expires = t
			}
		case "when":
			r.When, r.WhenOrigins = d.conditions(val, sub)
		}
	}
	return r
}

// conditions decodes the when mapping of a rule: each condition's values,
// and where its key was written.
func (d *decoder) conditions(n *yaml.Node, path string) (when map[string][]string, origins map[string]string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "want a mapping of conditions, found %s", describe(n))
		return nil, nil
	}
	if d.badTag(n, path) {
		return nil, nil
	}
	when, origins = map[string][]string{}, map[string]string{}
	for _, p := range d.pairs(n, path) {
		key := p.key.Value
		sub := joinPath(path, key)
		if !slices.Contains(conditionKeys, key) {
			d.unread = append(d.unread, path) // when is not "required" when its keys are misspelt
			if s := suggest(key, conditionKeys); s != "" {
				d.errorf(p.key.Line, "", "unknown condition %q in %s (did you mean %q?)", key, path, s)
			} else {
				d.errorf(p.key.Line, "", "unknown condition %q in %s (valid conditions: %s)", key, path, strings.Join(conditionKeys, ", "))
			}
			continue
		}
		d.lines[sub] = p.key.Line
		origins[key] = d.file + ":" + strconv.Itoa(p.key.Line)
		val := d.deref(p.val, sub)
		if val == nil {
			return when, origins
		}
		if d.badTag(val, sub) { // on the list: stringList sees only its items
			continue
		}
		if isNull(val) {
			when[key] = []string{}
			continue
		}
		var list []string
		d.stringList(val, reflect.ValueOf(&list).Elem(), sub)
		when[key] = list
	}
	return when, origins
}

// parseExpiry reads a date (midnight UTC starting that day) or an RFC 3339
// time, in UTC.
func parseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, errors.New("is not a date (2027-06-30) or an RFC 3339 time (2027-06-30T18:00:00Z)")
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// suggest returns the valid key closest to k when it is a likely typo.
func suggest(k string, valid []string) string {
	best, bestDist := "", 3
	for _, v := range valid {
		if dist := editdist.Distance(strings.ToLower(k), v); dist < bestDist && dist <= len(v)/3+1 {
			best, bestDist = v, dist
		}
	}
	return best
}
