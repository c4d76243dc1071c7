package match

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Kind is what an indicator's value is.
type Kind uint8

// The indicator kinds. KindInvalid is the zero value and never matches.
const (
	KindInvalid Kind = iota
	KindIP           // a single address, IPv4 or IPv6
	KindCIDR         // a prefix, IPv4 or IPv6
	KindDomain       // a domain: matches itself and every subdomain
	KindURL          // a normalised URL: exact, or a prefix when it ends in '*'
	KindPattern      // a case-insensitive substring of the normalised RemoteUrl
)

var kindNames = [...]string{"invalid", "ip", "cidr", "domain", "url", "pattern"}

// String returns the kind's name as written in configs and alerts ("cidr").
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if i > 0 && n == s {
			return Kind(i), nil
		}
	}
	return KindInvalid, fmt.Errorf("unknown indicator kind %q (want ip, cidr, domain, url or pattern)", s)
}

// Indicator is one indicator of compromise: its kind and value, and a
// pointer to its metadata. Loaders append indicators to a List, which
// stores them without pointers; List.At and a Hit give them back by value.
//
// The metadata is a separate Meta because a feed gives the same metadata
// to many indicators (every line of a text feed, every row of a CSV feed
// with the same columns): the loaders share one Meta among consecutive
// indicators with equal metadata, and a List keeps one entry per run of
// them. A Meta reachable from an indicator may be shared: never change it;
// give the indicator a changed copy instead.
type Indicator struct {
	Kind Kind
	// Line is the line of Meta.Where the indicator was read from (1-based);
	// 0 when Where names the indicator by itself (a STIX object, a MISP
	// attribute) or nothing.
	Line  uint32
	Value string // canonical form: address, prefix, lower-case domain, normalised URL, lower-case pattern
	// Meta is never nil in an indicator given to Build.
	Meta *Meta
}

// Meta is what a feed says about an indicator. Indicators may share one
// Meta (see Indicator): treat it as read-only.
type Meta struct {
	Source      string   // the feed it came from
	Severity    string   // free text as the feed says it: "high", "medium", …
	Confidence  int      // 0–100; 0 means unknown
	Tags        []string // malware family, threat type, …
	Description string
	Reference   string // a link for the analyst

	ValidFrom  time.Time // zero: always
	ValidUntil time.Time // zero: never expires

	// Where is where the indicator was read: the feed ("feeds/c2.csv",
	// with Indicator.Line) or an object of it ("bundle.json: indicator--…").
	Where string
}

// Origin returns where the indicator was read, for reports:
// "feeds/c2.csv:14" (Meta.Where and Line), "bundle.json: indicator--…", or
// "" when unknown.
func (ind *Indicator) Origin() string {
	if ind.Meta == nil {
		return ""
	}
	if ind.Line == 0 {
		return ind.Meta.Where
	}
	return ind.Meta.Where + ":" + strconv.FormatUint(uint64(ind.Line), 10)
}

// equal reports whether m and o hold the same metadata.
func (m *Meta) equal(o *Meta) bool {
	return m.Source == o.Source && m.Severity == o.Severity && m.Confidence == o.Confidence &&
		slices.Equal(m.Tags, o.Tags) && m.Description == o.Description && m.Reference == o.Reference &&
		m.ValidFrom == o.ValidFrom && m.ValidUntil == o.ValidUntil && m.Where == o.Where
}

// ActiveAt reports whether the indicator is valid at t (inside
// [ValidFrom, ValidUntil), each bound ignored when zero).
func (ind *Indicator) ActiveAt(t time.Time) bool {
	m := ind.Meta
	if m == nil {
		return true
	}
	if !m.ValidFrom.IsZero() && t.Before(m.ValidFrom) {
		return false
	}
	if !m.ValidUntil.IsZero() && !t.Before(m.ValidUntil) {
		return false
	}
	return true
}

// Field is the event field an indicator matched on.
type Field uint8

// The fields a hit can come from.
const (
	FieldRemoteIP      Field = iota + 1 // RemoteIP against ip/cidr indicators
	FieldRemoteURL                      // RemoteUrl (its host, the URL, or a substring)
	FieldRemoteURLHost                  // the IP-literal host of RemoteUrl against ip/cidr indicators
)

// String returns the field name used in alerts.
func (f Field) String() string {
	switch f {
	case FieldRemoteIP:
		return "RemoteIP"
	case FieldRemoteURL:
		return "RemoteUrl"
	case FieldRemoteURLHost:
		return "RemoteUrl.host"
	default:
		return "unknown"
	}
}

// Hit is one indicator that matched one field of an event.
type Hit struct {
	// Indicator is a copy; its Value and Meta are shared with the index.
	Indicator Indicator
	Field     Field
}
