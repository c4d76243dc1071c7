package match

import (
	"fmt"
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

// Indicator is one indicator of compromise with its metadata. Loaders fill
// it; an Index holds pointers to them and never changes them.
type Indicator struct {
	Kind  Kind
	Value string // canonical form: address, prefix, lower-case domain, normalised URL, lower-case pattern

	Source      string   // the feed it came from
	Severity    string   // free text as the feed says it: "high", "medium", …
	Confidence  int      // 0–100; 0 means unknown
	Tags        []string // malware family, threat type, …
	Description string
	Reference   string // a link for the analyst

	ValidFrom  time.Time // zero: always
	ValidUntil time.Time // zero: never expires

	// Origin is where the indicator was read ("feeds/c2.csv:14"), for reports.
	Origin string
}

// ActiveAt reports whether the indicator is valid at t (inside
// [ValidFrom, ValidUntil), each bound ignored when zero).
func (ind *Indicator) ActiveAt(t time.Time) bool {
	if !ind.ValidFrom.IsZero() && t.Before(ind.ValidFrom) {
		return false
	}
	if !ind.ValidUntil.IsZero() && !t.Before(ind.ValidUntil) {
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
	Indicator *Indicator
	Field     Field
}
