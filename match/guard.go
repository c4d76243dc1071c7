package match

import (
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Guard refuses junk that would alert on the whole internet, or on a
// network's own traffic. The zero value applies the defaults:
//
//   - empty values, the whole address space (0.0.0.0/0, ::/0) and the
//     unspecified addresses (0.0.0.0, ::) are always refused;
//   - prefixes shorter than /8 (IPv4) or /32 (IPv6) are refused
//     (MinPrefixV4, MinPrefixV6, AllowBroad);
//   - private (10/8, 172.16/12, 192.168/16, 100.64/10 shared address
//     space, fc00::/7), loopback (127/8, ::1) and link-local (169.254/16,
//     fe80::/10) addresses and prefixes, and loopback names (under
//     .localhost, RFC 6761, and localhost.localdomain) as domains and URL
//     hosts, are refused (AllowPrivate);
//   - multicast (224/4, ff00::/8) and reserved ranges (0/8, 192.0.0.0/24,
//     198.18/15 benchmarking, 240/4 including 255.255.255.255, ::/8,
//     100::/64 discard-only, 2001:2::/48 benchmarking) are always refused;
//   - a prefix that overlaps a refused range is refused (172.0.0.0/8
//     holds 172.16/12);
//   - domains that are a bare public suffix ("com", "co.uk",
//     "github.io", via golang.org/x/net/publicsuffix, and I2P's
//     "b32.i2p") are refused (AllowPublicSuffix), single-label names
//     ("localhost", "corp") always;
//   - names under a top-level domain that is not on the Internet are
//     refused (AllowPrivate): one that the public suffix list's ICANN
//     section does not hold ("invoice.pdf", "payload.exe": a file name
//     read as a domain), and internal names, under .local (mDNS),
//     .localdomain, .lan, .home, .corp, .internal, .intranet, .private or
//     home.arpa (RFC 8375), which a network uses for itself. Tor onion
//     services (.onion, RFC 7686), I2P eepsites (.i2p) and the
//     alternative roots C2 resolves through its own servers (Namecoin's
//     .bit, EmerDNS's .bazar, .coin, .emc and .lib) are accepted; ENS
//     names (.eth) are refused with a reason that says to list the host
//     of the gateway they are reached through;
//   - URLs without a host or whose host is refused as above (a private
//     address, a single label, an unknown top-level domain) are refused;
//   - patterns shorter than 4 characters are refused (AllowBroad).
//
// The documentation ranges are NOT refused, so tests and examples can use
// them: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32;
// neither are the reserved example names (.example, .test).
//
// A Guard is a plain value, safe for concurrent use.
type Guard struct {
	// MinPrefixV4 and MinPrefixV6 are the shortest prefixes accepted; 0
	// (or less) means the default /8 and /32.
	MinPrefixV4, MinPrefixV6 int
	// AllowPrivate accepts private, loopback and link-local addresses and
	// prefixes, loopback and internal names, and names under a top-level
	// domain the public suffix list does not know (a network's own, as
	// .acme): everything that is only ever seen inside a network (for
	// internal feeds).
	AllowPrivate bool
	// AllowBroad accepts prefixes shorter than the minimum and short
	// patterns; 0.0.0.0/0 and ::/0 stay refused.
	AllowBroad bool
	// AllowPublicSuffix accepts a bare public suffix as a domain.
	AllowPublicSuffix bool
}

// gdMinPattern is the shortest pattern accepted without AllowBroad.
const gdMinPattern = 4

type gdClass uint8

const (
	gdPrivate gdClass = iota
	gdLoopback
	gdLinkLocal
	gdMulticast
	gdReserved
)

var gdClassNames = [...]string{"private", "loopback", "link-local", "multicast", "reserved"}

type gdRange struct {
	p     netip.Prefix
	class gdClass
}

func gdR(s string, c gdClass) gdRange { return gdRange{netip.MustParsePrefix(s), c} }

var (
	gdRangesV4 = []gdRange{
		gdR("0.0.0.0/8", gdReserved),
		gdR("10.0.0.0/8", gdPrivate),
		gdR("100.64.0.0/10", gdPrivate),
		gdR("127.0.0.0/8", gdLoopback),
		gdR("169.254.0.0/16", gdLinkLocal),
		gdR("172.16.0.0/12", gdPrivate),
		gdR("192.0.0.0/24", gdReserved),
		gdR("192.168.0.0/16", gdPrivate),
		gdR("198.18.0.0/15", gdReserved),
		gdR("224.0.0.0/4", gdMulticast),
		gdR("240.0.0.0/4", gdReserved),
	}
	gdRangesV6 = []gdRange{
		gdR("::/8", gdReserved),
		gdR("::1/128", gdLoopback),
		gdR("100::/64", gdReserved),
		gdR("2001:2::/48", gdReserved),
		gdR("fc00::/7", gdPrivate),
		gdR("fe80::/10", gdLinkLocal),
		gdR("ff00::/8", gdMulticast),
	}
)

// gdSpecialOctet marks the first octets of the IPv4 special ranges.
var gdSpecialOctet = func() (t [256]bool) {
	for _, r := range gdRangesV4 {
		a := r.p.Masked().Addr().As4()
		n := 1
		if r.p.Bits() < 8 {
			n = 1 << (8 - r.p.Bits())
		}
		for i := 0; i < n; i++ {
			t[int(a[0])+i] = true
		}
	}
	return t
}()

func (g Guard) allows(c gdClass) bool {
	return g.AllowPrivate && c <= gdLinkLocal
}

// Check applies the guard to one classified value in canonical form (as
// ParseValue returns it) and returns the refusal reason, or "" when the
// value is acceptable.
func (g Guard) Check(kind Kind, value string) string {
	if strings.TrimSpace(value) == "" {
		return "empty value"
	}
	switch kind {
	case KindIP:
		a, err := netip.ParseAddr(value)
		if err != nil {
			return "not an IP address"
		}
		a = a.WithZone("").Unmap()
		return g.checkPrefix(netip.PrefixFrom(a, a.BitLen()))
	case KindCIDR:
		p, err := netip.ParsePrefix(value)
		if err != nil {
			return "not an IP prefix"
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return g.checkPrefix(p.Masked())
	case KindDomain:
		return g.checkDomain(value)
	case KindURL:
		return g.checkURL(value)
	case KindPattern:
		if len(value) < gdMinPattern && !g.AllowBroad {
			return "pattern shorter than " + strconv.Itoa(gdMinPattern) + " characters refused"
		}
		return ""
	default:
		return "invalid indicator kind"
	}
}

func (g Guard) checkPrefix(p netip.Prefix) string {
	a := p.Addr()
	if p.Bits() == 0 {
		return "whole address space refused"
	}
	if p.IsSingleIP() && a.IsUnspecified() {
		return "unspecified address refused"
	}
	ranges, min := gdRangesV4, g.MinPrefixV4
	if min <= 0 {
		min = 8
	}
	if a.Is6() {
		ranges, min = gdRangesV6, g.MinPrefixV6
		if min <= 0 {
			min = 32
		}
	}
	if !p.IsSingleIP() && p.Bits() < min && !g.AllowBroad {
		return "prefix shorter than /" + strconv.Itoa(min) + " refused"
	}
	if a.Is4() && p.Bits() >= 8 && !gdSpecialOctet[a.As4()[0]] {
		return "" // no special range shares the first octet
	}
	// The most specific range holding p decides for p itself.
	best := -1
	for i, r := range ranges {
		if r.p.Bits() <= p.Bits() && r.p.Contains(a) && (best < 0 || r.p.Bits() > ranges[best].p.Bits()) {
			best = i
		}
	}
	if best >= 0 && !g.allows(ranges[best].class) {
		return gdClassNames[ranges[best].class] + " range refused"
	}
	// A range inside p that is refused refuses p too.
	for _, r := range ranges {
		if r.p.Bits() > p.Bits() && p.Contains(r.p.Addr()) && !g.allows(r.class) {
			if best >= 0 && ranges[best].class == r.class {
				continue // inside an allowed range of the same class
			}
			return "prefix overlaps " + gdClassNames[r.class] + " range " + r.p.String() + " refused"
		}
	}
	return ""
}

func (g Guard) checkDomain(d string) string {
	if strings.IndexByte(d, '.') < 0 {
		if h := gdHashName(d); h != "" {
			// A list or an untyped column that mixes in file hashes.
			return "single-label name refused: it looks like " + h + " hash, and file hashes are not matched"
		}
		return "single-label name refused"
	}
	ps, icann := publicsuffix.PublicSuffix(d)
	if !g.AllowPrivate {
		if reason := gdOffInternet(d, icann); reason != "" {
			return reason
		}
	}
	if !g.AllowPublicSuffix && (ps == d || gdAltSuffixes[d]) {
		return "public suffix refused"
	}
	return ""
}

// gdInternalTLDs are the top-level domains networks name their own hosts
// under, never delegated on the Internet: mDNS's .local (RFC 6762),
// hosts files' .localdomain, and those ICANN keeps out of the root for
// private use (.internal) or because so many networks use them (.corp,
// .home, and .lan, .intranet, .private by custom).
var gdInternalTLDs = map[string]bool{
	"local": true, "localdomain": true, "lan": true, "home": true,
	"corp": true, "internal": true, "intranet": true, "private": true,
}

// gdAltTLDs are top-level domains outside the public suffix list that C2
// really uses: the anonymity networks' Tor onion services (RFC 7686; the
// list holds .onion too) and I2P eepsites (.i2p, reached through the
// local I2P router as .onion through Tor: I2PRAT, the Kimwolf botnet),
// and the alternative roots malware resolves through their own name
// servers, Namecoin's .bit and EmerDNS's .bazar (BazarLoader), .coin,
// .emc and .lib.
//
// ENS's .eth is not one: its names are wallet names and web sites that
// browsers reach through gateways under real top-level domains
// (vitalik.eth.limo, which loads), and the gateway's host is what a
// connection names.
var gdAltTLDs = map[string]bool{"onion": true, "i2p": true, "bit": true, "bazar": true, "coin": true, "emc": true, "lib": true}

// gdAltSuffixes are the public suffixes under gdAltTLDs that the public
// suffix list does not hold: I2P's b32.i2p, under which every
// destination has its base32 name (….b32.i2p), so that the bare suffix
// would match them all.
var gdAltSuffixes = map[string]bool{"b32.i2p": true}

// gdOffInternet returns why the dotted, lower-case name d cannot be a
// name on the Internet, or "": it is a loopback name (gdLoopbackName) or
// an internal name (gdInternalTLDs, home.arpa), or its top-level domain
// is unknown (gdKnownTLD; an ENS name under .eth is told apart, with the
// gateway host to list instead). icann is what publicsuffix.PublicSuffix(d)
// said: a rule of the list's ICANN section matched, so the top-level
// domain is known.
func gdOffInternet(d string, icann bool) string {
	tld := d[strings.LastIndexByte(d, '.')+1:]
	switch {
	case gdLoopbackName(d):
		return "loopback name refused"
	case gdInternalTLDs[tld]:
		return "internal name refused: ." + tld + " is for private networks, never on the Internet"
	case d == "home.arpa" || strings.HasSuffix(d, ".home.arpa"):
		// RFC 8375: in the list's ICANN section, as all of .arpa.
		return "internal name refused: .home.arpa is for private networks, never on the Internet"
	case !icann && tld == "eth":
		// An ENS name: the host a connection names is the gateway's.
		return "unknown top-level domain refused: .eth names are ENS names, which connections reach through a gateway: list the gateway's host (" + d + ".limo), or set allow.private"
	case !icann && !gdKnownTLD(tld):
		return "unknown top-level domain refused: ." + tld + " is not in the public suffix list (a file name?)"
	}
	return ""
}

// gdKnownTLD reports whether tld is a top-level domain of the public
// suffix list's ICANN section, one of gdAltTLDs, or "example" or "test"
// (RFC 2606: reserved for documentation and tests).
func gdKnownTLD(tld string) bool {
	if tld == "example" || tld == "test" || gdAltTLDs[tld] {
		return true
	}
	// A name under it, not the label alone: a top-level domain the list
	// holds only by a wildcard rule ("*.ck", "*.kh") is not a rule of its
	// own, and publicsuffix.PublicSuffix("kh") falls back to the default
	// rule ("*", icann false).
	_, icann := publicsuffix.PublicSuffix("x." + tld)
	return icann
}

func (g Guard) checkURL(u string) string {
	rest := u
	if n := schemeEnd(u); n > 0 {
		rest = u[n+3:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	host := rest
	switch {
	case strings.HasPrefix(host, "["):
		if j := strings.IndexByte(host, ']'); j >= 0 {
			host = host[1:j]
		}
	case strings.Count(host, ":") == 1:
		host = host[:strings.IndexByte(host, ':')]
	}
	if host == "" {
		return "URL without a host refused"
	}
	if strings.IndexByte(host, '%') >= 0 {
		// The host the index keys, which a browser connects to: its
		// escapes decoded ("evil%2Eexample").
		host = string(appendPercentDecoded(nil, host))
	}
	a, ok := ldParseAddr(host)
	if !ok && hostEndsInNumber(host) {
		// An IPv4 address in another form ("0x7f.1", "2130706433") is
		// that address, for a browser and the index alike.
		if a, ok = parseIPv4Host(host); !ok {
			return "URL host is neither an IPv4 address nor a domain (its last label is a number)"
		}
	}
	if ok {
		a = a.WithZone("").Unmap()
		if reason := g.checkPrefix(netip.PrefixFrom(a, a.BitLen())); reason != "" {
			return "URL host: " + reason
		}
		return ""
	}
	if strings.IndexByte(host, '.') < 0 {
		return "single-label URL host refused"
	}
	if !g.AllowPrivate {
		h := strings.ToLower(strings.TrimSuffix(host, "."))
		_, icann := publicsuffix.PublicSuffix(h)
		if reason := gdOffInternet(h, icann); reason != "" {
			return "URL host: " + reason
		}
	}
	return ""
}

// gdHashName names the hash a single label looks like ("an MD5"), by its
// length in hex digits, or returns "".
func gdHashName(d string) string {
	var name string
	switch len(d) {
	case 32:
		name = "an MD5"
	case 40:
		name = "a SHA-1"
	case 64:
		name = "a SHA-256"
	case 128:
		name = "a SHA-512"
	default:
		return ""
	}
	for i := 0; i < len(d); i++ {
		if c := d[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ""
		}
	}
	return name
}

// gdLoopbackName reports whether the lower-case host name d names the
// loopback interface: a name under .localhost (RFC 6761), or
// localhost.localdomain, which hosts files map to 127.0.0.1 and
// blocklists in hosts format list first.
func gdLoopbackName(d string) bool {
	return d == "localhost.localdomain" || strings.HasSuffix(d, ".localhost")
}
