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

// DomainAccounts returns the values of the rule's account condition
// written DOMAIN\name, in file order (nil for none). Such a value never
// matches an event whose account domain is unknown — an observation of
// the retro-hunt history, which does not keep it — so that there the rule
// excludes nothing of that account.
func (r *Rule) DomainAccounts() []string {
	var out []string
	for i := range r.conds {
		if r.conds[i].key != keyAccount {
			continue
		}
		for _, v := range r.conds[i].strs {
			if strings.IndexByte(v, '\\') >= 0 {
				out = append(out, v)
			}
		}
	}
	return out
}

// Exclusions is a compiled, ordered list of exclusion rules. A nil or zero
// Exclusions excludes nothing. It is immutable and safe for concurrent use.
type Exclusions struct {
	rules []*Rule
	// atEventTime: expiry is judged at the subject's time (AtEventTime).
	atEventTime bool
}

// AtEventTime returns the same rules judged at each event's time rather
// than at the time Match is given: a rule applies to an event whose
// Subject.Time is before the rule's expiry, even when the rule has expired
// since, and not to an event after it. A rule says "until D this traffic
// is benign": that is what a replay of past events and a retro-hunt of the
// history need, where the wall clock would judge last month's events by
// today's rules. The event's time is never taken later than now (a rule in
// force now applies to an event stamped in the future by a clock ahead),
// and an event without a time is judged at now. The live path keeps Match
// at now: there an endpoint clock that runs behind would extend an
// expired rule. x is not changed; AtEventTime of nil is nil.
func (x *Exclusions) AtEventTime() *Exclusions {
	if x == nil {
		return nil
	}
	return &Exclusions{rules: x.rules, atEventTime: true}
}

// at is the instant at which the rules' expiry is judged for subject s:
// now, or for AtEventTime the subject's time if it is set and earlier.
func (x *Exclusions) at(s *Subject, now time.Time) time.Time {
	if x.atEventTime && !s.Time.IsZero() && s.Time.Before(now) {
		return s.Time
	}
	return now
}

// Subject is what exclusion rules look at: the event's fields. The zero
// value has no field set; a condition on an unset field does not match.
// It is plain data; Match does not keep it.
type Subject struct {
	Table         string // "DeviceNetworkEvents" (an "AdvancedHunting-" prefix is ignored)
	ActionType    string
	DeviceName    string
	DeviceGroup   string // MachineGroup
	Account       string // InitiatingProcessAccountName, the bare name ("svc-backup")
	AccountDomain string // InitiatingProcessAccountDomain ("corp", "nt authority")
	ProcessName   string // InitiatingProcessFileName
	ProcessPath   string // InitiatingProcessFolderPath (usually ending with ProcessName)
	ProcessSHA256 string // InitiatingProcessSHA256
	RemoteIP      netip.Addr
	RemoteHost    string // host of RemoteUrl (NormalizeHost), if any
	RemotePort    uint16
	// Time is the event's time (Defender's Timestamp); zero when unknown.
	// Only Exclusions from AtEventTime look at it.
	Time time.Time
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
// SHA-256 or account, and a value that matches everything (a remote_ip of
// /0, a process_path or device glob of only '*' and separators or of
// '*', '?' and separators, the remote_port range 1-65535): a rule never
// excludes everything.
//
// The keys, all case-insensitive where they compare text:
//
//	process_name      InitiatingProcessFileName, exact (the last element of
//	                  the path when the name is missing)
//	process_path      glob on InitiatingProcessFolderPath (see below)
//	process_sha256    InitiatingProcessSHA256, 64 hex digits
//	account           InitiatingProcessAccountName, exact; DOMAIN\name also
//	                  compares InitiatingProcessAccountDomain
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
// A process_path glob is matched against the process's full path: the
// folder path as Defender sends it when it ends with the process name (as
// it usually does), else the path joined with the name — never the bare
// folder — so that `c:\windows\system32\*` matches both forms of one
// process and `c:\windows\*` neither.
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

// onlyWildcards reports whether glob p is made of '*', '?' and separators
// alone with at least one '*' ("?*", "**?", `**\?*`): it names no folder,
// file or device and matches every name of one character or more (a glob
// of '?' alone names a length, and is left alone).
func onlyWildcards(p string) bool {
	return strings.Trim(p, `*?/\`) == "" && strings.IndexByte(p, '*') >= 0
}

func (c *cond) add(v string) error {
	switch c.key {
	case keyProcessPath, keyDevice:
		g, err := compileGlob(v)
		if err != nil {
			return fmt.Errorf("bad glob: %w", err)
		}
		what := "path"
		if c.key == keyDevice {
			what = "device name"
		}
		switch {
		case onlyStars(v):
			return fmt.Errorf("matches any %s (a glob of only '*' and separators): %s", what, hideEverything)
		case onlyWildcards(v):
			return fmt.Errorf("matches any %s (a glob of only '*', '?' and separators): %s", what, hideEverything)
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
		if ipErr := (*domainIsIPError)(nil); errors.As(err, &ipErr) {
			// Not "use kind ip": a rule has no kind; the key for an
			// address is remote_ip, which takes only its usual form.
			// The address is quoted last, where a loader that must not
			// show the value can cut it off.
			return fmt.Errorf("bad domain: is an IP address: use remote_ip: %q", ipErr.addr.String())
		}
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
		c.strs = append(c.strs, trimCategory(v))
	case keyAccount:
		if dom, name, ok := strings.Cut(v, `\`); ok && (dom == "" || name == "" || strings.IndexByte(name, '\\') >= 0) {
			return errors.New(`bad account (want name or DOMAIN\name)`)
		}
		c.strs = append(c.strs, v)
	default:
		c.strs = append(c.strs, v)
	}
	return nil
}

// trimCategory drops the "AdvancedHunting-" category prefix of a table
// name, in any case.
func trimCategory(t string) string {
	const p = "AdvancedHunting-"
	if len(t) > len(p) && strings.EqualFold(t[:len(p)], p) {
		return t[len(p):]
	}
	return t
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
// subject s at time now, or nil. Rules expired at now are skipped (for
// Exclusions from AtEventTime, rules expired at the subject's time). A nil
// Exclusions or subject matches nothing. Match is safe for concurrent use
// and does not allocate.
func (x *Exclusions) Match(s *Subject, h Hit, now time.Time) *Rule {
	if x == nil || s == nil {
		return nil
	}
	now = x.at(s, now)
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

// RangeShare is the part of an address range in which one rule would
// exclude a hit (see MatchRange).
type RangeShare struct {
	// Rule excludes the hit for every address of Prefixes; nil for the
	// part where no rule does and the hit alerts.
	Rule *Rule
	// Prefixes are the part, in address order, none overlapping.
	Prefixes []netip.Prefix
}

// MatchRange is Match for every address of range p at once: what Match
// would answer for subject s with each address of p as its RemoteIP. It
// returns the rules that exclude hit h in some part of p, in file order,
// each with its part, followed by the part no rule excludes, if any; the
// parts cover p exactly. An IPv4-mapped range (::ffff:192.0.2.0/120) is
// the IPv4 range; s.RemoteIP is not used. A nil Exclusions or subject
// excludes nothing: one share, p, without a rule. An invalid p gives nil.
// It is for lookups of a range (iocwatch lookup), not the event path: it
// allocates.
func (x *Exclusions) MatchRange(s *Subject, p netip.Prefix, h Hit, now time.Time) []RangeShare {
	if !p.IsValid() {
		return nil
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	if x == nil || s == nil {
		return []RangeShare{{Prefixes: []netip.Prefix{p}}}
	}
	// The rules that apply to s and h but for the address.
	now = x.at(s, now)
	var live []*Rule
	for _, r := range x.rules {
		if !r.ExpiredAt(now) && r.matchesBut(keyRemoteIP, s, h) {
			live = append(live, r)
		}
	}
	var shares []RangeShare
	for _, l := range shareRange(live, s, p) {
		i := slices.IndexFunc(shares, func(sh RangeShare) bool { return sh.Rule == l.rule })
		if i < 0 {
			shares = append(shares, RangeShare{Rule: l.rule})
			i = len(shares) - 1
		}
		shares[i].Prefixes = append(shares[i].Prefixes, l.p)
	}
	slices.SortStableFunc(shares, func(a, b RangeShare) int {
		switch {
		case a.Rule == b.Rule:
			return 0
		case a.Rule == nil:
			return 1
		case b.Rule == nil:
			return -1
		}
		return a.Rule.ID - b.Rule.ID
	})
	return shares
}

type rangeLeaf struct {
	rule *Rule
	p    netip.Prefix
}

// shareRange splits q by the first of the rules that excludes each of its
// addresses, in address order; halves that fall to one rule are merged.
func shareRange(rules []*Rule, s *Subject, q netip.Prefix) []rangeLeaf {
	for _, r := range rules {
		switch r.ipCover(s, q) {
		case coverNone:
			continue
		case coverAll:
			return []rangeLeaf{{r, q}}
		}
		lo, hi := halves(q)
		a, b := shareRange(rules, s, lo), shareRange(rules, s, hi)
		if len(a) == 1 && len(b) == 1 && a[0].rule == b[0].rule {
			return []rangeLeaf{{a[0].rule, q}}
		}
		return append(a, b...)
	}
	return []rangeLeaf{{nil, q}}
}

type cover uint8

const (
	coverNone cover = iota
	coverSome
	coverAll
)

// ipCover says for how much of q the rule's remote_ip condition holds.
func (r *Rule) ipCover(s *Subject, q netip.Prefix) cover {
	var c *cond
	for i := range r.conds {
		if r.conds[i].key == keyRemoteIP {
			c = &r.conds[i]
		}
	}
	if c == nil || c.matches(&Subject{RemoteHost: s.RemoteHost}, Hit{}) {
		return coverAll // no condition on the address, or the URL's IP host holds it
	}
	some := false
	for _, pr := range c.prefixes {
		switch {
		case pr.Bits() <= q.Bits() && pr.Contains(q.Addr()):
			return coverAll
		case q.Bits() < pr.Bits() && q.Contains(pr.Addr()):
			some = true
		}
	}
	if some {
		return coverSome
	}
	return coverNone
}

// halves splits q (not a single address) into its two halves.
func halves(q netip.Prefix) (netip.Prefix, netip.Prefix) {
	b := q.Bits()
	hi := q.Addr().AsSlice()
	hi[b/8] |= 0x80 >> (b % 8)
	a, _ := netip.AddrFromSlice(hi)
	return netip.PrefixFrom(q.Addr(), b+1), netip.PrefixFrom(a, b+1)
}

// matchesBut reports whether every condition of r but the one on key
// holds.
func (r *Rule) matchesBut(key condKey, s *Subject, h Hit) bool {
	for i := range r.conds {
		if r.conds[i].key != key && !r.conds[i].matches(s, h) {
			return false
		}
	}
	return true
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
		return c.matchAccount(s.AccountDomain, s.Account)
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
		return anyFold(c.strs, trimCategory(s.Table))
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

// matchPath matches the process's full path: path as sent when it ends
// with the process name (or the name is unknown), else the folder path
// joined with the name. The bare folder is never matched when the name is
// known: a glob would then see one process as two different paths.
func (c *cond) matchPath(path, name string) bool {
	if name == "" || strings.EqualFold(baseName(path), name) {
		return anyGlob(c.globs, path)
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

// matchAccount reports whether a value names the account: a bare name
// matches it in any domain, DOMAIN\name only in that domain (an unknown
// domain proves nothing).
func (c *cond) matchAccount(domain, name string) bool {
	if name == "" {
		return false
	}
	for _, v := range c.strs {
		if dom, user, ok := strings.Cut(v, `\`); ok {
			if domain != "" && strings.EqualFold(user, name) && strings.EqualFold(dom, domain) {
				return true
			}
		} else if strings.EqualFold(v, name) {
			return true
		}
	}
	return false
}

func (c *cond) containsIP(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.WithZone("").Unmap() // a prefix never contains a zoned address
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
// expiring within ExpiryWarning (each expiry as FormatExpiry writes it), a
// table value iocwatch never sees, a value that can never match what
// Defender reports (a process_path with an environment variable, not a
// full path — wildcards or not — or ending with a separator or a folder, a
// process_name that is a path, process_name and process_path values that
// name different files, a process_path or device glob written with {a,b}
// alternation, an account written as a user principal name), an
// action_type Defender does not report (within two edits of a known one,
// with "did you mean"; unlike any, more mildly: Microsoft adds action
// types), a table that reports none of the action_type values, and a
// value so broad that the rule hides nearly everything (a top-level domain
// or public suffix, a very wide range, a process_path that names no folder
// and no file unless process_sha256 pins the binary). An expired rule is
// said to be no longer applied by the live stream but still applied, by
// replay and the retro-hunt, to the events before its expiry; for
// Exclusions from AtEventTime, to apply only to those events.
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
		case r.ExpiredAt(now) && x.atEventTime:
			out = append(out, fmt.Sprintf("%s: expired on %s: applies only to events before then", where, FormatExpiry(r.Expires)))
		case r.ExpiredAt(now):
			out = append(out, fmt.Sprintf("%s: expired on %s: the live stream no longer applies it; replay and the retro-hunt still apply it to events from before then", where, FormatExpiry(r.Expires)))
		case !r.Expires.IsZero() && r.Expires.Sub(now) <= ExpiryWarning:
			out = append(out, fmt.Sprintf("%s: expires on %s, in %s", where, FormatExpiry(r.Expires), humanDays(r.Expires.Sub(now))))
		}
		if c := has(keyTable); c != nil {
			for _, t := range c.strs {
				if watchedTable(t) == 0 {
					out = append(out, fmt.Sprintf("%s: table %q is never watched (%s)", where, t, strings.Join(watchedTables[:], ", ")))
				}
			}
		}
		for _, n := range neverMatching(has) {
			out = append(out, where+": "+n)
		}
		if c := has(keyActionType); c != nil {
			for _, v := range c.strs {
				if w := actionTypeWarning(v); w != "" {
					out = append(out, where+": "+w)
				}
			}
		}
		for _, b := range broadValues(has) {
			out = append(out, where+": "+b)
		}
	}
	return out
}

// neverMatching names the values of a rule's conditions that can never
// match what Defender reports, so that the rule would silently never
// apply: a process_path or device glob written with {a,b} alternation,
// which the glob syntax lacks (it matches only the braces themselves); a
// process_path holding an environment variable (Defender reports paths
// expanded), one that is not a full path, or one ending with a separator
// or a folder (a process path ends with the file name); a process_name
// that is a path; process names none of which ends a process_path glob; a
// table that reports none of the action_type values (all DeviceEvents
// action types with table DeviceNetworkEvents, or the other way round);
// an account written as a user principal name.
func neverMatching(has func(condKey) *cond) []string {
	var out []string
	if c := has(keyProcessPath); c != nil {
		for _, g := range c.globs {
			if w := braceWarning(keyProcessPath, g.src); w != "" {
				out = append(out, w)
			}
			if w := pathNeverMatches(g.src); w != "" {
				out = append(out, fmt.Sprintf("process_path %q %s", g.src, w))
			}
		}
	}
	if c := has(keyDevice); c != nil {
		for _, g := range c.globs {
			if w := braceWarning(keyDevice, g.src); w != "" {
				out = append(out, w)
			}
		}
	}
	if c := has(keyProcessName); c != nil {
		for _, v := range c.strs {
			if strings.ContainsAny(v, `/\`) {
				out = append(out, fmt.Sprintf("process_name %q is a path: a file name holds no separator, so it never matches; put the path in process_path", v))
			}
		}
	}
	if pn, pp := has(keyProcessName), has(keyProcessPath); pn != nil && pp != nil && !namesMeetPaths(pn.strs, pp.globs) {
		out = append(out, "process_name and process_path name different files (no process_name ends a process_path glob), so the rule never matches")
	}
	if t, a := has(keyTable), has(keyActionType); t != nil && a != nil {
		if w := tableActionTypeWarning(t.strs, a.strs, actionTypeTables); w != "" {
			out = append(out, w)
		}
	}
	if c := has(keyAccount); c != nil {
		for _, v := range c.strs {
			if strings.IndexByte(v, '@') > 0 && strings.IndexByte(v, '\\') < 0 {
				out = append(out, fmt.Sprintf(`account %q is a user principal name: account compares InitiatingProcessAccountName (%s) or DOMAIN\name, so it never matches`, v, v[:strings.IndexByte(v, '@')]))
			}
		}
	}
	return out
}

// namesMeetPaths reports whether some process name can end a path some
// glob matches. The process's path ends with its name, so a rule whose
// names all differ from the last element of every glob never matches. A
// last element with "**" may span folders: it is taken to meet any name.
// A glob written with {a,b} alternation is judged by its alternatives,
// the values the braces are warned about on their own ask for.
func namesMeetPaths(names []string, globs []*glob) bool {
	for _, g := range globs {
		srcs, _ := braceAlternatives(g.src, maxBraceAlternatives)
		if srcs == nil {
			srcs = []string{g.src}
		}
		for _, src := range srcs {
			if nameMeetsPath(names, src) {
				return true
			}
		}
	}
	return false
}

// maxBraceAlternatives bounds the alternatives of a glob's braces that
// are looked at: each brace group multiplies them.
const maxBraceAlternatives = 64

// nameMeetsPath reports whether some process name can end a path that
// process_path glob src matches.
func nameMeetsPath(names []string, src string) bool {
	last := src[strings.LastIndexAny(src, `/\`)+1:]
	if last == "" || strings.Contains(last, "**") || endsWithFolder(src) { // a separator or folder at the end is warned about on its own
		return true
	}
	lg, err := compileGlob(last)
	if err != nil {
		return true
	}
	for _, n := range names {
		if lg.match(n) {
			return true
		}
	}
	return false
}

// envDefaults are the usual values of the environment variables a path
// is often written with, for the warning's hint.
var envDefaults = map[string]string{
	"systemroot":        `c:\windows`,
	"windir":            `c:\windows`,
	"systemdrive":       `c:`,
	"programfiles":      `c:\program files`,
	"programfiles(x86)": `c:\program files (x86)`,
	"programw6432":      `c:\program files`,
	"programdata":       `c:\programdata`,
	"allusersprofile":   `c:\programdata`,
	"userprofile":       `c:\users\*`,
	"appdata":           `c:\users\*\appdata\roaming`,
	"localappdata":      `c:\users\*\appdata\local`,
	"temp":              `c:\users\*\appdata\local\temp`,
	"tmp":               `c:\users\*\appdata\local\temp`,
	"public":            `c:\users\public`,
}

// pathNeverMatches says why process_path glob g can never match a path
// Defender reports, or "".
func pathNeverMatches(g string) string {
	if v := envVar(g); v != "" {
		hint := ""
		if d, ok := envDefaults[strings.ToLower(v)]; ok {
			hint = fmt.Sprintf(" (%%%s%% is usually %s)", v, d)
		}
		return fmt.Sprintf("holds the environment variable %%%s%%: Defender reports paths expanded, so it never matches; write the path as Defender reports it%s", v, hint)
	}
	const notFull = `is not a full path: Defender reports full paths (c:\windows\system32\svchost.exe)`
	i := strings.IndexAny(g, `/\`)
	if i < 0 && !strings.Contains(g, "**") {
		// A full path holds a separator, and only "**" matches one: '*'
		// and '?' stop at it.
		switch {
		case isDriveGlob(g):
			return `is a drive alone: a process path ends with the file name (c:\windows\system32\svchost.exe), so it never matches; name the program's file (c:\program files\vendor\agent.exe)`
		case !strings.ContainsAny(g, "*?"):
			return fmt.Sprintf(`%s, so it never matches; write **\%s for any folder`, notFull, g)
		case namesNoFolderOrFile(`**\` + g):
			// **\*.exe would be warned about as matching every folder.
			return fmt.Sprintf(`%s and '*' and '?' never match a separator, so it never matches; name the program's folder (c:\program files\vendor\%s): **\%s would match a process in every folder, malware's too`, notFull, g, g)
		default:
			return fmt.Sprintf(`%s and '*' and '?' never match a separator, so it never matches; write **\%s for any folder`, notFull, g)
		}
	}
	if i >= 0 && !mayStartFullPath(g[:i]) {
		return fmt.Sprintf(`%s, so it never matches; write **\%s for any folder`, notFull, g)
	}
	if strings.HasSuffix(g, `\`) || strings.HasSuffix(g, "/") {
		return fmt.Sprintf("ends with a separator: a process path ends with the file name, so it never matches; write %s* for the files in the folder", g)
	}
	if endsWithFolder(g) {
		sep := `\`
		if !strings.Contains(g, `\`) {
			sep = "/"
		}
		return fmt.Sprintf(`ends with a folder, not a file name: a process path ends with the file name (c:\windows\system32\svchost.exe), so it never matches; write %s%s* for the files in the folder`, g, sep)
	}
	return ""
}

// mayStartFullPath reports whether first, the first element of a
// process_path glob (before its first separator), can match how a full
// path starts: nothing (\\server\share, /usr/bin) or a drive (c:). An
// element with "**" may match across separators, so anything.
func mayStartFullPath(first string) bool {
	switch {
	case first == "" || strings.Contains(first, "**"):
		return true
	case !strings.ContainsAny(first, "*?"):
		return len(first) == 2 && first[1] == ':'
	}
	g, err := compileGlob(first)
	if err != nil {
		return true // not judged
	}
	if g.match("") {
		return true
	}
	for d := 'a'; d <= 'z'; d++ {
		if g.match(string(d), ":") {
			return true
		}
	}
	return false
}

// isDriveGlob reports whether g is a drive alone: a letter, '*' or '?'
// and a colon.
func isDriveGlob(g string) bool {
	return len(g) == 2 && g[1] == ':' && (g[0] == '*' || g[0] == '?' || 'a' <= g[0]|0x20 && g[0]|0x20 <= 'z')
}

// braceWarning says that glob g of condition key k is written with {a,b}
// alternation, which the glob syntax does not have, and lists the values
// to write instead; or "".
func braceWarning(k condKey, g string) string {
	alts, more := braceAlternatives(g, maxBracesShown+1)
	if alts == nil {
		return ""
	}
	if len(alts) > maxBracesShown {
		alts, more = alts[:maxBracesShown], true
	}
	vals := make([]string, 0, len(alts)+1)
	for _, a := range alts {
		vals = append(vals, "'"+strings.ReplaceAll(a, "'", "''")+"'") // as YAML writes it in single quotes
	}
	if more {
		vals = append(vals, "…")
	}
	return fmt.Sprintf("%s %q holds {a,b} alternation, which globs do not have: braces and commas match themselves, so it matches only a name written with them; list the alternatives as values, as %s: [%s] (a condition matches when any of its values does)", k, g, k, strings.Join(vals, ", "))
}

// maxBracesShown is how many alternatives braceWarning lists.
const maxBracesShown = 4

// braceAlternatives returns the globs that g's {a,b} brace groups stand
// for in shells that have them, in order, at most limit of them, and
// whether there are more; nil when g has no such group. A group is a '{'
// with a comma before the next '}' and no '{' between: braces without a
// comma ({8a3c…} folders) are text. Empty alternatives are left out.
func braceAlternatives(g string, limit int) (alts []string, more bool) {
	out := []string{""}
	rest := g
	found := false
	for {
		i, j := braceGroup(rest)
		if i < 0 {
			break
		}
		found = true
		lit, choices := rest[:i], strings.Split(rest[i+1:j], ",")
		next := make([]string, 0, min(limit, len(out)*len(choices)))
	product:
		for _, o := range out {
			for _, c := range choices {
				if len(next) == limit {
					more = true
					break product
				}
				next = append(next, o+lit+c)
			}
		}
		out, rest = next, rest[j+1:]
	}
	if !found {
		return nil, false
	}
	alts = out[:0]
	for _, o := range out {
		if o += rest; o != "" {
			alts = append(alts, o)
		}
	}
	return alts, more
}

// braceGroup returns the positions of the '{' and '}' of the first brace
// group of s (see braceAlternatives), or -1, -1.
func braceGroup(s string) (int, int) {
	for off := 0; ; {
		i := strings.IndexByte(s[off:], '{')
		if i < 0 {
			return -1, -1
		}
		i += off
		j := strings.IndexByte(s[i+1:], '}')
		if j < 0 {
			return -1, -1
		}
		j += i + 1
		if inner := s[i+1 : j]; strings.IndexByte(inner, ',') >= 0 && strings.IndexByte(inner, '{') < 0 {
			return i, j
		}
		off = i + 1
	}
}

// endsWithFolder reports whether process_path glob g names a folder: a
// Windows path (written with '\' or starting with a drive) whose last
// element is plain text without an extension, as c:\windows\system32.
// Windows runs image files with an extension, so such an element is not
// a file name; a POSIX path (/usr/bin/curl) is left alone.
func endsWithFolder(g string) bool {
	i := strings.LastIndexAny(g, `/\`)
	if i < 0 {
		return false
	}
	last := g[i+1:]
	first := g[:strings.IndexAny(g, `/\`)]
	windows := strings.Contains(g, `\`) || len(first) == 2 && first[1] == ':'
	return windows && last != "" && !strings.ContainsAny(last, "*?.")
}

// envVar returns the name of the first %NAME% environment variable in g,
// or "".
func envVar(g string) string {
	for rest := g; ; {
		i := strings.IndexByte(rest, '%')
		if i < 0 {
			return ""
		}
		rest = rest[i+1:]
		j := strings.IndexByte(rest, '%')
		if j < 0 {
			return ""
		}
		if name := rest[:j]; isEnvName(name) {
			return name
		}
	}
}

func isEnvName(s string) bool {
	if s == "" || !(s[0] == '_' || 'a' <= s[0]|0x20 && s[0]|0x20 <= 'z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '(' || c == ')' || '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z') {
			return false
		}
	}
	return true
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
	if c := has(keyProcessPath); c != nil && has(keyProcessSHA256) == nil {
		for _, g := range c.globs {
			if i, _ := braceGroup(g.src); i >= 0 {
				continue // it matches only the braces, warned about on their own
			}
			if namesNoFolderOrFile(g.src) && pathNeverMatches(g.src) == "" {
				// Without "**" the glob reaches every folder at its
				// depth and none deeper: c:\* is the drive's root alone.
				reach := "it matches a process in every folder, so the rule drops the hits of malware anywhere under it"
				if !strings.Contains(g.src, "**") {
					reach = "it matches a process in every folder at its depth, so the rule drops the hits of malware run from any of them"
				}
				out = append(out, fmt.Sprintf(`process_path %q names no folder and no file (only wildcards, a drive or an extension): %s; name the program's file (c:\program files\vendor\agent.exe)`, g.src, reach))
			}
		}
	}
	return out
}

// namesNoFolderOrFile reports whether process_path glob g names no folder
// and no file, so that it matches a process in every folder (at its
// depth, or at any with "**"): each element between separators is
// wildcards with a '*' ("*", "**", "?*"), but that the first may be a
// drive ("c:", "*:") and the last wildcards with a '*' and an extension
// ("*.exe", "**.exe", "*.*"). `c:\**`, `**\*.exe` and `*:\**` name none;
// `c:\windows\**` names a folder and `**\svchost.exe` a file. A '?'
// alone names a length, and a glob without a separator or "**" matches no
// full path: neither is taken for one naming nothing.
func namesNoFolderOrFile(g string) bool {
	if !strings.Contains(g, "*") || !strings.ContainsAny(g, `/\`) && !strings.Contains(g, "**") {
		return false
	}
	elems := strings.FieldsFunc(g, isSep)
	for i, e := range elems {
		switch {
		case starred(e):
		case i == 0 && !isSep(rune(g[0])) && isDriveGlob(e):
			// a drive
		case i == len(elems)-1 && extensionOnly(e):
		default:
			return false
		}
	}
	return len(elems) > 0
}

// starred reports whether glob element e is wildcards with a '*': "*",
// "**", "?*".
func starred(e string) bool {
	return strings.Trim(e, "*?") == "" && strings.Contains(e, "*")
}

// extensionOnly reports whether glob element e is starred wildcards and
// one extension: "*.exe", "?*.dll", "*.*".
func extensionOnly(e string) bool {
	i := strings.LastIndexByte(e, '.')
	return i > 0 && starred(e[:i]) && i+1 < len(e)
}

// FormatExpiry writes a rule's expiry as the rule file may: the date
// alone when it is the start of a day in UTC (how a date is read), else
// the instant in UTC (RFC 3339). The date alone of a time-of-day expiry
// would read as the start of that day, and a date in another zone may be
// another day in UTC; the warnings and iocwatch check name expiries so.
func FormatExpiry(t time.Time) string {
	t = t.UTC()
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339Nano)
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
