package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/iocwatch/iocwatch/match"
)

// ExclusionRule is one named exclusion: a hit that meets every condition of
// When (AND across keys, OR within a key's list) does not alert. The match
// package checks the value syntax (globs, CIDRs) and applies the rules.
//
// The zero value has no conditions and is refused by the checks. An
// ExclusionRule is plain data: safe for concurrent reads.
type ExclusionRule struct {
	// Name identifies the rule in counters and audit records. Required,
	// unique.
	Name string
	// Reason says why the traffic is benign. Required.
	Reason string
	// Expires is when the rule stops applying: a date means midnight UTC at
	// the start of that day. Zero: never.
	Expires time.Time
	// When maps condition keys (see ConditionKeys) to their values; a
	// scalar in the file is a one-element list and numbers are kept as
	// written. At least one key, each with at least one non-empty value.
	When map[string][]string
	// Origin is where the rule was read, "file:line".
	Origin string
	// WhenOrigins is where each condition of When was read, "file:line"
	// of its key, so that an error in a value can point at it.
	WhenOrigins map[string]string
}

// ExpiredAt reports whether the rule no longer applies at t.
func (r ExclusionRule) ExpiredAt(t time.Time) bool {
	return !r.Expires.IsZero() && !t.Before(r.Expires)
}

// ruleKeys are the keys of one rule.
var ruleKeys = []string{"name", "reason", "expires", "when"}

// conditionKeys are the condition keys of When, in documentation order.
var conditionKeys = []string{
	"process_name", "process_path", "process_sha256", "account", "device", "device_group",
	"action_type", "remote_ip", "remote_domain", "remote_port", "table",
	"indicator_source", "indicator_tag",
}

// ConditionKeys returns the keys a rule's When may use, as a new slice.
func ConditionKeys() []string { return slices.Clone(conditionKeys) }

// LoadExclusions reads an exclusions file: a mapping whose only key,
// exclusions, holds a list of rules:
//
//	exclusions:
//	  - name: rdp-client
//	    reason: Admins connect to servers with Remote Desktop
//	    expires: 2027-06-30
//	    when:
//	      process_name: [mstsc.exe, rdpclip.exe]
//
// ${ENV} references expand as in the configuration file. Every problem is
// reported in one pass, each with path:line: the problems of reading (an
// unknown key, a bad date) with those of the checks (a missing reason, a
// duplicate name ignoring case, a value match.CompileExclusions would
// refuse); only a YAML syntax error stops early. On error no rules are
// returned. An empty file holds no rules. LoadExclusions is safe for
// concurrent use.
func LoadExclusions(path string) ([]ExclusionRule, error) {
	rules, _, err := loadExclusions(path)
	return rules, err
}

// loadExclusions is LoadExclusions that returns with the rules their names
// as a message shows them (checker.val: a name from the environment by
// its ${…} text).
func loadExclusions(path string) ([]ExclusionRule, []shownValue, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return parseExclusionsShown(data, path, os.LookupEnv)
}

// exclusionsFile is the shape of an exclusions file.
type exclusionsFile struct {
	Exclusions []ExclusionRule `yaml:"exclusions"`
}

func parseExclusions(data []byte, name string, lookup func(string) (string, bool)) ([]ExclusionRule, error) {
	rules, _, err := parseExclusionsShown(data, name, lookup)
	return rules, err
}

// parseExclusionsShown is parseExclusions that returns with the rules
// their names as a message shows them (see loadExclusions).
func parseExclusionsShown(data []byte, name string, lookup func(string) (string, bool)) ([]ExclusionRule, []shownValue, error) {
	root, err := parseYAML(data, name)
	if err != nil {
		return nil, nil, err
	}
	d := newDecoder(name, lookup)
	var f exclusionsFile
	if root != nil {
		d.value(root, reflect.ValueOf(&f).Elem(), "")
	}
	// The rules are checked even when reading them found problems, so
	// that one run reports every problem of the file (docs/exclusions.md);
	// a check whose key could not be read is left out, its problem is
	// already reported.
	ck := &checker{m: &meta{file: name, lines: d.lines, nulls: d.nulls, expanded: d.expanded}, errs: d.errs, unread: d.unread, notRule: d.notRule}
	checkRules(ck, f.Exclusions, "exclusions")
	if err := ck.join(); err != nil {
		return nil, nil, err
	}
	return f.Exclusions, ruleNames(ck, f.Exclusions, "exclusions"), nil
}

// ruleNames returns the names of rules, the list at path, as a message
// shows them (checker.val).
func ruleNames(ck *checker, rules []ExclusionRule, path string) []shownValue {
	names := make([]shownValue, len(rules))
	for i, r := range rules {
		names[i] = ck.val(indexPath(path, i)+".name", r.Name)
	}
	return names
}

// checkRules checks required keys, unique names (ignoring case, as
// match.CompileExclusions compares them) and the values of the conditions
// of a list of rules.
func checkRules(ck *checker, rules []ExclusionRule, path string) {
	names := map[string]string{}
	for i, r := range rules {
		p := indexPath(path, i)
		if ck.notRule[p] {
			continue // not a mapping: already reported
		}
		checkRule(ck, r, p)
		if r.Name == "" {
			continue
		}
		if first, dup := names[strings.ToLower(r.Name)]; dup {
			ck.add(p+".name", "%q is already the name of the rule at %s", ck.val(p+".name", r.Name), first)
			continue
		}
		names[strings.ToLower(r.Name)] = r.Origin
	}
}

func checkRule(ck *checker, r ExclusionRule, path string) {
	if strings.TrimSpace(r.Name) == "" && !ck.unreadAt(path+".name") {
		ck.add(path+".name", "required")
	}
	if strings.TrimSpace(r.Reason) == "" && !ck.unreadAt(path+".reason") {
		ck.add(path+".reason", "required: say why this traffic is benign")
	}
	if len(r.When) == 0 && !ck.unreadAt(path+".when") {
		ck.add(path+".when", "required: at least one condition (a rule without conditions would hide every alert)")
	}
	for _, k := range slices.Sorted(maps.Keys(r.When)) {
		sub := path + ".when." + k
		if !slices.Contains(conditionKeys, k) {
			ck.add(sub, "unknown condition (valid conditions: %s)", strings.Join(conditionKeys, ", "))
			continue
		}
		vals := r.When[k]
		if len(vals) == 0 && !ck.unreadAt(sub) {
			ck.add(sub, "no values (a condition without values never holds)")
		}
		for i, v := range vals {
			if strings.TrimSpace(v) == "" {
				ck.add(indexPath(sub, i), "empty value")
				continue
			}
			// The value as the match package will compile it, reported in
			// its words: file:line: rule "name": key: "value": problem.
			// Those words quote the value as match reads it (trimmed) and
			// may quote a part of it (netip's `(at "x")`): a value from
			// the environment is named by its ${…} text there, and the
			// part left out (withoutValue).
			if err := match.CheckExclusionValue(k, v); err != nil {
				name, item := ck.val(path+".name", r.Name), indexPath(sub, i)
				if ck.fromEnv(item) {
					ck.addPlaced(sub, item, fmt.Errorf("rule %q: %s: %s", name, k, withoutValue(err, v, fmt.Sprint(ck.val(item, v)))))
				} else {
					ck.addPlaced(sub, item, fmt.Errorf("rule %q: %s: %w", name, k, err))
				}
			}
		}
	}
}

// withoutValue returns the text of err, an error of
// match.CheckExclusionValue about value, with ref in place of the value:
// match quotes the value as it reads it, trimmed of spaces, and names the
// value's problem, in which a parser may quote a part of the value
// (net/netip's `(at "x")`, `bad bits after slash: "x"`): the text is cut
// before any such part.
func withoutValue(err error, value, ref string) string {
	const mark = "\x00"
	text := strings.ReplaceAll(err.Error(), strconv.Quote(strings.TrimSpace(value)), mark)
	text = strings.ReplaceAll(text, strconv.Quote(value), mark)
	if i := strings.IndexByte(text, '"'); i >= 0 {
		text = strings.TrimRight(strings.TrimSuffix(strings.TrimSpace(text[:i]), "(at"), " :")
	}
	if !strings.HasPrefix(text, mark+": ") { // not match's `"value": problem`
		text = mark + ": not a valid value"
	}
	return strings.ReplaceAll(text, mark, ref)
}

// AllExclusions returns the inline rules followed by the rules of every
// exclusions file, in order, and checks that names are unique across them.
// It reads the files each time it is called (for reloads).
func (c *Config) AllExclusions() ([]ExclusionRule, error) {
	ck := &checker{m: c.meta}
	rules := slices.Clone(c.Exclusions)
	names := ruleNames(ck, rules, "exclusions") // as messages show them
	var errs []error
	for i, path := range c.ExclusionsFiles {
		rs, shown, err := loadExclusions(path)
		if err != nil {
			var pe *fs.PathError
			key := indexPath("exclusions_files", i)
			if errors.As(err, &pe) && c.meta != nil && c.meta.lines[key] > 0 {
				// The file cannot be read: the mistake is in the config,
				// at this key. A file added in code (--exclusions) is
				// not the config's: its error names it alone. A file
				// name from the environment is named by its ${…} text.
				if ck.fromEnv(key) {
					err = &fs.PathError{Op: pe.Op, Path: fmt.Sprint(ck.val(key, pe.Path)), Err: pe.Err}
				}
				err = &Error{File: c.meta.file, Line: c.meta.lines[key], Path: key, Err: err}
			}
			errs = append(errs, err)
			continue
		}
		rules = append(rules, rs...)
		names = append(names, shown...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	seen := map[string]string{}
	for i, r := range rules {
		if first, dup := seen[strings.ToLower(r.Name)]; dup {
			errs = append(errs, &Error{File: fileOf(r.Origin), Line: lineOf(r.Origin), Err: fmt.Errorf("exclusion rule %q is already defined at %s", names[i], first)})
			continue
		}
		seen[strings.ToLower(r.Name)] = r.Origin
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rules, nil
}

// fileOf and lineOf split an Origin "file:line".
func fileOf(origin string) string {
	if i := strings.LastIndexByte(origin, ':'); i >= 0 {
		return origin[:i]
	}
	return origin
}

func lineOf(origin string) int {
	i := strings.LastIndexByte(origin, ':')
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range origin[i+1:] {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// rulesNode renders rules for Redacted.
func rulesNode(rules []ExclusionRule) *yaml.Node {
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	if len(rules) == 0 {
		seq.Style = yaml.FlowStyle
	}
	for _, r := range rules {
		m := &yaml.Node{Kind: yaml.MappingNode}
		addPair(m, "name", strNode(r.Name))
		addPair(m, "reason", strNode(r.Reason))
		if !r.Expires.IsZero() {
			addPair(m, "expires", strNode(match.FormatExpiry(r.Expires)))
		}
		when := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range slices.Sorted(maps.Keys(r.When)) {
			addPair(when, k, stringsNode(r.When[k]))
		}
		if len(r.When) == 0 {
			when.Style = yaml.FlowStyle
		}
		addPair(m, "when", when)
		seq.Content = append(seq.Content, m)
	}
	return seq
}
