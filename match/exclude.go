package match

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"
)

// RuleSpec is one exclusion rule as written by the user (config/ fills it
// from the rule file). The zero value is not a valid rule. It is plain
// data; CompileExclusions copies what it keeps.
type RuleSpec struct {
	// Name identifies the rule in counters and audit records; unique.
	Name string
	// Reason says why the hits it suppresses are expected.
	Reason string
	// Expires, when non-zero, is the instant the rule stops applying.
	Expires time.Time
	// When maps condition keys to lists of values: a hit is excluded when
	// every key matches (AND) and a key matches when any of its values does
	// (OR). See CompileExclusions for the keys.
	When map[string][]string
	// Origin is where the rule was written ("exclusions.yaml:12"), for
	// errors and warnings.
	Origin string
	// WhenOrigins is where each condition of When was written
	// ("exclusions.yaml:15"); an error in its values names it rather than
	// Origin. Optional.
	WhenOrigins map[string]string
}

// Rule is a compiled exclusion rule. Rules are immutable and safe for
// concurrent use; the zero value is not a usable rule (get rules from
// CompileExclusions).
type Rule struct {
	Name    string
	Reason  string
	Expires time.Time // zero: never
	// ID is the rule's position in the file, from 0: an index for per-rule
	// counters.
	ID     int
	Origin string

	conds []cond
}

// ExpiredAt reports whether the rule no longer applies at now.
func (r *Rule) ExpiredAt(now time.Time) bool {
	return !r.Expires.IsZero() && !now.Before(r.Expires)
}

// Exclusions is a compiled, ordered list of exclusion rules. A nil or zero
// Exclusions excludes nothing. It is immutable and safe for concurrent use.
type Exclusions struct {
	rules []*Rule
}

// Subject is what exclusion rules look at: the event's fields. The zero
// value has no field set; a condition on an unset field does not match.
// It is plain data; Match does not keep it.
type Subject struct {
	Table         string // "DeviceNetworkEvents" (an "AdvancedHunting-" prefix is ignored)
	ActionType    string
	DeviceName    string
	DeviceGroup   string // MachineGroup
	Account       string // InitiatingProcessAccountName
	ProcessName   string // InitiatingProcessFileName
	ProcessPath   string // InitiatingProcessFolderPath
	ProcessSHA256 string // InitiatingProcessSHA256
	RemoteIP      netip.Addr
	RemoteHost    string // host of RemoteUrl (NormalizeHost), if any
	RemotePort    uint16
}

type condKey uint8

// The condition keys, in the order documented.
const (
	keyProcessName condKey = iota
	keyProcessPath
	keyProcessSHA256
	keyAccount
	keyDevice
	keyDeviceGroup
	keyActionType
	keyRemoteIP
	keyRemoteDomain
	keyRemotePort
	keyTable
	keyIndicatorSource
	keyIndicatorTag
)

var condKeyNames = [...]string{
	keyProcessName:     "process_name",
	keyProcessPath:     "process_path",
	keyProcessSHA256:   "process_sha256",
	keyAccount:         "account",
	keyDevice:          "device",
	keyDeviceGroup:     "device_group",
	keyActionType:      "action_type",
	keyRemoteIP:        "remote_ip",
	keyRemoteDomain:    "remote_domain",
	keyRemotePort:      "remote_port",
	keyTable:           "table",
	keyIndicatorSource: "indicator_source",
	keyIndicatorTag:    "indicator_tag",
}

// ExclusionKeys returns the condition keys a rule's When may use.
func ExclusionKeys() []string { return slices.Clone(condKeyNames[:]) }

func (k condKey) String() string { return condKeyNames[k] }

// cond is one compiled condition: an OR over its values.
type cond struct {
	key      condKey
	strs     []string       // exact keys, compared with strings.EqualFold
	globs    []*glob        // process_path, device
	prefixes []netip.Prefix // remote_ip
	ports    []portRange    // remote_port
}

type portRange struct{ lo, hi uint16 }

// CompileExclusions validates and compiles rules, keeping their order. The
// error joins (errors.Join) every problem, each naming the rule's Origin,
// name and key: a missing or duplicate name, a rule without conditions, an
// unknown key, an empty list or value, a bad glob, IP or CIDR, domain, port
// or SHA-256, and a value that matches everything (a remote_ip of /0, a
// process_path or device glob of only '*' and separators, the remote_port
// range 1-65535): a rule never excludes everything.
//
// The keys, all case-insensitive where they compare text:
//
//	process_name      InitiatingProcessFileName, exact (the last element of
//	                  the path when the name is missing)
//	process_path      glob on InitiatingProcessFolderPath (see below)
//	process_sha256    InitiatingProcessSHA256, 64 hex digits
//	account           InitiatingProcessAccountName, exact
//	device            glob on DeviceName
//	device_group      MachineGroup, exact
//	action_type       ActionType, exact
//	remote_ip         an IP or CIDR containing RemoteIP or the IP-literal host
//	remote_domain     the RemoteUrl host is the domain or a subdomain of it
//	remote_port       RemotePort: a port or a range "8000-8099"
//	table             DeviceNetworkEvents or DeviceEvents
//	indicator_source  the hit indicator's Source, exact
//	indicator_tag     any of the hit indicator's Tags, exact
//
// A process_path glob is tried against the folder path as Defender sends
// it (usually ending with the file name) and, when the path does not end
// with the process name, against the path joined with the name, so
// `c:\windows\system32\*` matches both forms.
func CompileExclusions(specs []RuleSpec) (*Exclusions, error) {
	x := &Exclusions{}
	var errs []error
	seen := make(map[string]string) // lower-case name → origin
	for i := range specs {
		sp := &specs[i]
		where := fmt.Sprintf("%s: rule %q", sp.Origin, sp.Name)
		if sp.Origin == "" {
			where = fmt.Sprintf("rule %d %q", i+1, sp.Name)
		}
		r := &Rule{Name: sp.Name, Reason: sp.Reason, Expires: sp.Expires, ID: i, Origin: sp.Origin}
		if strings.TrimSpace(sp.Name) == "" {
			errs = append(errs, fmt.Errorf("%s: name is required", where))
		} else if first, dup := seen[strings.ToLower(sp.Name)]; dup {
			errs = append(errs, fmt.Errorf("%s: duplicate name (first used at %s)", where, first))
		} else {
			seen[strings.ToLower(sp.Name)] = sp.Origin
		}
		if len(sp.When) == 0 {
			errs = append(errs, fmt.Errorf("%s: no conditions under when (a rule must not exclude everything)", where))
		}
		keys := make([]string, 0, len(sp.When))
		for k := range sp.When {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			c, cerrs := compileCond(k, sp.When[k])
			at := where
			if o := sp.WhenOrigins[k]; o != "" {
				at = fmt.Sprintf("%s: rule %q", o, sp.Name)
			}
			for _, err := range cerrs {
				errs = append(errs, fmt.Errorf("%s: %s: %w", at, k, err))
			}
			if len(cerrs) > 0 {
				continue
			}
			r.conds = append(r.conds, c)
		}
		// Cheap, selective conditions first.
		slices.SortStableFunc(r.conds, func(a, b cond) int { return condCost(a.key) - condCost(b.key) })
		x.rules = append(x.rules, r)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("exclusions: %w", errors.Join(errs...))
	}
	return x, nil
}

func condCost(k condKey) int {
	switch k {
	case keyProcessPath, keyDevice:
		return 2
	case keyRemoteDomain, keyIndicatorTag:
		return 1
	}
	return 0
}

// CheckExclusionValue reports what CompileExclusions would refuse in one
// value of the condition key (see ExclusionKeys): an unknown key, an empty
// value, a bad glob, IP or CIDR, domain, port or SHA-256, or a value that
// matches everything. The error reads as in CompileExclusions' messages
// after the key: `"203.0.113.0/33": bad CIDR: …`. It lets a loader report
// every problem of a rule file in one pass, with its own structural
// checks; nil means the value compiles.
func CheckExclusionValue(key, value string) error {
	k := slices.Index(condKeyNames[:], key)
	if k < 0 {
		return fmt.Errorf("unknown key (want one of %s)", strings.Join(condKeyNames[:], ", "))
	}
	return checkValue(&cond{key: condKey(k)}, value)
}

// checkValue adds value v to c, or returns why it cannot.
func checkValue(c *cond, v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return errors.New("empty value")
	}
	if err := c.add(v); err != nil {
		return fmt.Errorf("%q: %w", v, err)
	}
	return nil
}

// compileCond compiles one key and its values, returning every problem.
func compileCond(name string, values []string) (cond, []error) {
	k := slices.Index(condKeyNames[:], name)
	if k < 0 {
		return cond{}, []error{fmt.Errorf("unknown key (want one of %s)", strings.Join(condKeyNames[:], ", "))}
	}
	c := cond{key: condKey(k)}
	if len(values) == 0 {
		return c, []error{errors.New("empty list")}
	}
	var errs []error
	for _, v := range values {
		if err := checkValue(&c, v); err != nil {
			errs = append(errs, err)
		}
	}
	return c, errs
}

// hideEverything is the reason a value that matches everything is refused.
const hideEverything = "the rule would hide every hit"

// onlyStars reports whether glob p is made of '*' and separators alone
// ("*", "**", "***", "**/*", `*\*`): it narrows nothing.
func onlyStars(p string) bool {
	return strings.Trim(p, `*/\`) == ""
}

func (c *cond) add(v string) error {
	switch c.key {
	case keyProcessPath, keyDevice:
		g, err := compileGlob(v)
		if err != nil {
			return fmt.Errorf("bad glob: %w", err)
		}
		if onlyStars(v) {
			what := "path"
			if c.key == keyDevice {
				what = "device name"
			}
			return fmt.Errorf("matches any %s (a glob of only '*' and separators): %s", what, hideEverything)
		}
		c.globs = append(c.globs, g)
	case keyProcessSHA256:
		if len(v) != 64 || strings.IndexFunc(v, func(r rune) bool { return !isHex(byte(r)) || r >= 0x80 }) >= 0 {
			return errors.New("bad SHA-256 (want 64 hex digits)")
		}
		c.strs = append(c.strs, v)
	case keyRemoteIP:
		p, err := parseIPOrCIDR(v)
		if err != nil {
			return err
		}
		if p.Bits() == 0 {
			return errors.New("matches every address: " + hideEverything)
		}
		c.prefixes = append(c.prefixes, p)
	case keyRemoteDomain:
		b, err := appendDomain(nil, v)
		if err != nil {
			return fmt.Errorf("bad domain: %w", err)
		}
		c.strs = append(c.strs, string(b))
	case keyRemotePort:
		pr, err := parsePortRange(v)
		if err != nil {
			return err
		}
		if pr == (portRange{1, 65535}) {
			return errors.New("matches every port: " + hideEverything)
		}
		c.ports = append(c.ports, pr)
	case keyTable:
		c.strs = append(c.strs, strings.TrimPrefix(v, "AdvancedHunting-"))
	default:
		c.strs = append(c.strs, v)
	}
	return nil
}

func parseIPOrCIDR(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return p, fmt.Errorf("bad CIDR: %w", err)
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad IP: %w", err)
	}
	a = a.WithZone("").Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func parsePortRange(v string) (portRange, error) {
	lo, hi, isRange := strings.Cut(v, "-")
	a, ok := parsePort(strings.TrimSpace(lo))
	b := a
	if isRange {
		b, ok = parsePort(strings.TrimSpace(hi))
		ok = ok && a <= b
	}
	if !ok || a == 0 {
		return portRange{}, errors.New("bad port (want 1-65535 or a range like 8000-8099)")
	}
	return portRange{a, b}, nil
}

// Match returns the first rule, in file order, that excludes hit h on
// subject s at time now, or nil. Rules expired at now are skipped. A nil
// Exclusions or subject matches nothing. Match is safe for concurrent use
// and does not allocate.
func (x *Exclusions) Match(s *Subject, h Hit, now time.Time) *Rule {
	if x == nil || s == nil {
		return nil
	}
	for _, r := range x.rules {
		if r.ExpiredAt(now) {
			continue
		}
		if r.matches(s, h) {
			return r
		}
	}
	return nil
}

func (r *Rule) matches(s *Subject, h Hit) bool {
	for i := range r.conds {
		if !r.conds[i].matches(s, h) {
			return false
		}
	}
	return true
}

func (c *cond) matches(s *Subject, h Hit) bool {
	switch c.key {
	case keyProcessName:
		name := s.ProcessName
		if name == "" {
			name = baseName(s.ProcessPath)
		}
		return anyFold(c.strs, name)
	case keyProcessPath:
		return s.ProcessPath != "" && c.matchPath(s.ProcessPath, s.ProcessName)
	case keyProcessSHA256:
		return anyFold(c.strs, s.ProcessSHA256)
	case keyAccount:
		return anyFold(c.strs, s.Account)
	case keyDevice:
		return s.DeviceName != "" && anyGlob(c.globs, s.DeviceName)
	case keyDeviceGroup:
		return anyFold(c.strs, s.DeviceGroup)
	case keyActionType:
		return anyFold(c.strs, s.ActionType)
	case keyRemoteIP:
		if c.containsIP(s.RemoteIP) {
			return true
		}
		h := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(s.RemoteHost, "["), "."), "]")
		if digitsAndDots(h) || strings.IndexByte(h, ':') >= 0 {
			if a, err := netip.ParseAddr(h); err == nil {
				return c.containsIP(a)
			}
		}
		return false
	case keyRemoteDomain:
		host := strings.TrimSuffix(s.RemoteHost, ".")
		for _, d := range c.strs {
			if inDomain(host, d) {
				return true
			}
		}
		return false
	case keyRemotePort:
		for _, p := range c.ports {
			if p.lo <= s.RemotePort && s.RemotePort <= p.hi {
				return true
			}
		}
		return false
	case keyTable:
		return anyFold(c.strs, strings.TrimPrefix(s.Table, "AdvancedHunting-"))
	case keyIndicatorSource:
		return h.Indicator.Meta != nil && anyFold(c.strs, h.Indicator.Meta.Source)
	case keyIndicatorTag:
		if h.Indicator.Meta == nil {
			return false
		}
		for _, t := range h.Indicator.Meta.Tags {
			if anyFold(c.strs, t) {
				return true
			}
		}
		return false
	}
	return false
}

// matchPath tries the folder path as sent and, when it does not end with
// the process name, the path joined with the name.
func (c *cond) matchPath(path, name string) bool {
	if anyGlob(c.globs, path) {
		return true
	}
	if name == "" || strings.EqualFold(baseName(path), name) {
		return false
	}
	sep := `\`
	if strings.HasSuffix(path, `\`) || strings.HasSuffix(path, "/") {
		sep = ""
	}
	for _, g := range c.globs {
		if g.match(path, sep, name) {
			return true
		}
	}
	return false
}

func (c *cond) containsIP(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range c.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func anyFold(vals []string, s string) bool {
	if s == "" {
		return false
	}
	for _, v := range vals {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func anyGlob(gs []*glob, s string) bool {
	for _, g := range gs {
		if g.match(s) {
			return true
		}
	}
	return false
}

// baseName returns the last element of a Windows or POSIX path.
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// inDomain reports whether host is d or a subdomain of d, ignoring case.
func inDomain(host, d string) bool {
	if len(host) < len(d) || !strings.EqualFold(host[len(host)-len(d):], d) {
		return false
	}
	return len(host) == len(d) || host[len(host)-len(d)-1] == '.'
}

// Rules returns the rules in file order, in a new slice.
func (x *Exclusions) Rules() []*Rule {
	if x == nil {
		return nil
	}
	return slices.Clone(x.rules)
}

// ExpiryWarning is how close to its expiry a rule is reported by Warnings.
const ExpiryWarning = 7 * 24 * time.Hour

// Warnings lists, in file order, rules that deserve a look at now: a rule
// on process_name without process_path or process_sha256 (malware names
// itself svchost.exe too), a rule without a reason, an expired rule, a rule
// expiring within ExpiryWarning, and a table value iocwatch never sees.
func (x *Exclusions) Warnings(now time.Time) []string {
	if x == nil {
		return nil
	}
	var out []string
	for _, r := range x.rules {
		where := fmt.Sprintf("%s: rule %q", r.Origin, r.Name)
		if r.Origin == "" {
			where = fmt.Sprintf("rule %q", r.Name)
		}
		has := func(k condKey) *cond {
			for i := range r.conds {
				if r.conds[i].key == k {
					return &r.conds[i]
				}
			}
			return nil
		}
		if has(keyProcessName) != nil && has(keyProcessPath) == nil && has(keyProcessSHA256) == nil {
			out = append(out, where+": process_name without process_path or process_sha256: malware names itself svchost.exe too")
		}
		if strings.TrimSpace(r.Reason) == "" {
			out = append(out, where+": no reason given")
		}
		switch {
		case r.ExpiredAt(now):
			out = append(out, fmt.Sprintf("%s: expired on %s and no longer applies", where, r.Expires.UTC().Format(time.DateOnly)))
		case !r.Expires.IsZero() && r.Expires.Sub(now) <= ExpiryWarning:
			out = append(out, fmt.Sprintf("%s: expires on %s, in %s", where, r.Expires.UTC().Format(time.DateOnly), humanDays(r.Expires.Sub(now))))
		}
		if c := has(keyTable); c != nil {
			for _, t := range c.strs {
				if !strings.EqualFold(t, "DeviceNetworkEvents") && !strings.EqualFold(t, "DeviceEvents") {
					out = append(out, fmt.Sprintf("%s: table %q is never watched (DeviceNetworkEvents, DeviceEvents)", where, t))
				}
			}
		}
		for _, b := range broadValues(has) {
			out = append(out, where+": "+b)
		}
	}
	return out
}

// broadValues names the values of a rule's conditions that match so much
// that the rule hides nearly every hit it could see — what the junk guard
// refuses in a feed, here only a warning: a rule may mean it. A value that
// matches everything is refused by CompileExclusions instead.
func broadValues(has func(condKey) *cond) []string {
	var out []string
	if c := has(keyRemoteDomain); c != nil {
		for _, d := range c.strs {
			if strings.IndexByte(d, '.') < 0 {
				out = append(out, fmt.Sprintf("remote_domain %q is a top-level domain: the rule hides every hit under it", d))
			} else if ps, _ := publicsuffix.PublicSuffix(d); ps == d {
				out = append(out, fmt.Sprintf("remote_domain %q is a public suffix: the rule hides every hit under it", d))
			}
		}
	}
	if c := has(keyRemoteIP); c != nil {
		for _, p := range c.prefixes {
			if p.Addr().Is4() && p.Bits() < 8 || !p.Addr().Is4() && p.Bits() < 32 {
				out = append(out, fmt.Sprintf("remote_ip %s is a range of /%d: the rule hides every hit in it", p, p.Bits()))
			}
		}
	}
	return out
}

func humanDays(d time.Duration) string {
	days := int(d.Hours() / 24)
	if days < 1 {
		return "less than a day"
	}
	if days == 1 {
		return "1 day"
	}
	return strconv.Itoa(days) + " days"
}
