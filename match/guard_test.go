package match

import (
	"net/netip"
	"testing"
)

func TestGuardCheck(t *testing.T) {
	var def Guard
	private := Guard{AllowPrivate: true}
	broad := Guard{AllowBroad: true}
	suffix := Guard{AllowPublicSuffix: true}
	tests := []struct {
		name   string
		g      Guard
		kind   Kind
		value  string
		reason string // "" means accepted
	}{
		// Always refused.
		{"an empty value is refused", def, KindDomain, "", "empty value"},
		{"a blank value is refused", def, KindURL, "  ", "empty value"},
		{"the whole IPv4 space is refused", def, KindCIDR, "0.0.0.0/0", "whole address space refused"},
		{"the whole IPv6 space is refused", def, KindCIDR, "::/0", "whole address space refused"},
		{"the whole space is refused even when broad prefixes are allowed", broad, KindCIDR, "0.0.0.0/0", "whole address space refused"},
		{"the whole space written as mapped IPv6 is refused", broad, KindCIDR, "::ffff:0.0.0.0/96", "whole address space refused"},
		{"the unspecified IPv4 address is refused", private, KindIP, "0.0.0.0", "unspecified address refused"},
		{"the unspecified IPv6 address is refused", private, KindIP, "::", "unspecified address refused"},
		{"a multicast address is refused", private, KindIP, "224.0.0.251", "multicast range refused"},
		{"an IPv6 multicast address is refused", private, KindIP, "ff02::fb", "multicast range refused"},
		{"the broadcast address is reserved", private, KindIP, "255.255.255.255", "reserved range refused"},
		{"an address in 240/4 is reserved", private, KindIP, "240.1.2.3", "reserved range refused"},
		{"an address in 0/8 is reserved", private, KindIP, "0.1.2.3", "reserved range refused"},
		{"the benchmarking range is reserved", private, KindCIDR, "198.18.0.0/16", "reserved range refused"},
		{"the IETF protocol range is reserved", private, KindIP, "192.0.0.8", "reserved range refused"},
		{"the IPv6 discard prefix is reserved", private, KindIP, "100::1", "reserved range refused"},
		{"an IPv4-compatible IPv6 address is reserved", private, KindIP, "::198.51.100.7", "reserved range refused"},
		{"a single-label name is refused", suffix, KindDomain, "localhost", "single-label name refused"},
		{"an MD5 hash is refused as what it looks like", def, KindDomain, "d41d8cd98f00b204e9800998ecf8427e", "single-label name refused: it looks like an MD5 hash, and file hashes are not matched"},
		{"a SHA-1 hash is refused as what it looks like", def, KindDomain, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "single-label name refused: it looks like a SHA-1 hash, and file hashes are not matched"},
		{"a SHA-256 hash is refused as what it looks like", def, KindDomain, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "single-label name refused: it looks like a SHA-256 hash, and file hashes are not matched"},
		{"a label of 32 characters that are not all hex digits is only a single label", def, KindDomain, "d41d8cd98f00b204e9800998ecf8427x", "single-label name refused"},
		{"a single-label URL host is refused", private, KindURL, "http://intranet/login", "single-label URL host refused"},
		{"a URL without a host is refused", def, KindURL, "http:///x", "URL without a host refused"},
		// Loopback names (RFC 6761 .localhost, and the hosts-file
		// localhost.localdomain that blocklists in hosts format start with).
		{"localhost.localdomain is a loopback name", def, KindDomain, "localhost.localdomain", "loopback name refused"},
		{"a name under .localhost is a loopback name", suffix, KindDomain, "app.localhost", "loopback name refused"},
		{"a URL on a loopback name is refused", def, KindURL, "http://localhost.localdomain:8080/x", "URL host: loopback name refused"},
		{"a loopback name is accepted for an internal feed", private, KindDomain, "localhost.localdomain", ""},
		{"a name that only ends in localhost is not a loopback name", def, KindDomain, "evillocalhost.example", ""},
		{"localhost as a label elsewhere is not a loopback name", def, KindDomain, "localhost.evil.example", ""},
		{"a URL on a multicast address is refused", private, KindURL, "http://239.1.1.1/x", "URL host: multicast range refused"},
		{"an invalid kind is refused", def, KindInvalid, "x", "invalid indicator kind"},
		{"an ip that does not parse is refused", def, KindIP, "evil.example", "not an IP address"},
		{"a cidr that does not parse is refused", def, KindCIDR, "198.51.100.0", "not an IP prefix"},

		// Private, loopback and link-local: refused unless AllowPrivate.
		{"an RFC 1918 prefix is refused", def, KindCIDR, "10.0.0.0/8", "private range refused"},
		{"an RFC 1918 address is refused", def, KindIP, "192.168.1.10", "private range refused"},
		{"an address in 172.16/12 is refused", def, KindIP, "172.31.255.1", "private range refused"},
		{"shared address space 100.64/10 is refused", def, KindIP, "100.64.0.1", "private range refused"},
		{"a unique local IPv6 address is refused", def, KindIP, "fd12:3456::1", "private range refused"},
		{"a loopback address is refused", def, KindIP, "127.0.0.1", "loopback range refused"},
		{"the IPv6 loopback is refused", def, KindIP, "::1", "loopback range refused"},
		{"a link-local address is refused", def, KindIP, "169.254.169.254", "link-local range refused"},
		{"an IPv6 link-local address is refused", def, KindIP, "fe80::1", "link-local range refused"},
		{"a prefix holding a private range is refused", def, KindCIDR, "172.0.0.0/8", "prefix overlaps private range 172.16.0.0/12 refused"},
		{"a URL on a private address is refused", def, KindURL, "http://10.1.2.3:8080/x", "URL host: private range refused"},
		{"a URL on a bracketed loopback address is refused", def, KindURL, "http://[::1]/x", "URL host: loopback range refused"},
		{"AllowPrivate accepts an RFC 1918 prefix", private, KindCIDR, "10.0.0.0/8", ""},
		{"AllowPrivate accepts a loopback address", private, KindIP, "127.0.0.1", ""},
		{"AllowPrivate accepts the IPv6 loopback", private, KindIP, "::1", ""},
		{"AllowPrivate accepts a link-local address", private, KindIP, "fe80::1", ""},
		{"AllowPrivate accepts a URL on a private address", private, KindURL, "http://10.1.2.3/x", ""},
		{"AllowPrivate accepts a prefix holding only private space", private, KindCIDR, "172.0.0.0/8", ""},
		{"AllowPrivate does not accept a prefix holding multicast space", Guard{AllowPrivate: true, AllowBroad: true}, KindCIDR, "224.0.0.0/3", "prefix overlaps multicast range 224.0.0.0/4 refused"},
		{"AllowPrivate does not accept a prefix holding reserved space", Guard{AllowPrivate: true, AllowBroad: true}, KindCIDR, "192.0.0.0/2", "prefix overlaps reserved range 192.0.0.0/24 refused"},

		// Broad prefixes: refused unless AllowBroad or a lower minimum.
		{"an IPv4 prefix shorter than /8 is refused", def, KindCIDR, "8.0.0.0/7", "prefix shorter than /8 refused"},
		{"an IPv6 prefix shorter than /32 is refused", def, KindCIDR, "2a00::/16", "prefix shorter than /32 refused"},
		{"an IPv4 /8 is accepted", def, KindCIDR, "11.0.0.0/8", ""},
		{"an IPv6 /32 is accepted", def, KindCIDR, "2a00:1450::/32", ""},
		{"a raised IPv4 minimum refuses a /16", Guard{MinPrefixV4: 20}, KindCIDR, "198.51.0.0/16", "prefix shorter than /20 refused"},
		{"a raised IPv6 minimum refuses a /32", Guard{MinPrefixV6: 48}, KindCIDR, "2a00:1450::/32", "prefix shorter than /48 refused"},
		{"a lowered IPv4 minimum accepts a /7", Guard{MinPrefixV4: 6}, KindCIDR, "8.0.0.0/7", ""},
		{"AllowBroad accepts a /7", broad, KindCIDR, "8.0.0.0/7", ""},
		{"AllowBroad still refuses a prefix holding private space", broad, KindCIDR, "0.0.0.0/1", "prefix overlaps reserved range 0.0.0.0/8 refused"},
		{"a short pattern is refused", def, KindPattern, "php", "pattern shorter than 4 characters refused"},
		{"a four-character pattern is accepted", def, KindPattern, ".php", ""},
		{"AllowBroad accepts a short pattern", broad, KindPattern, "ph", ""},

		// Public suffixes: refused unless AllowPublicSuffix.
		{"a bare TLD is a public suffix", def, KindDomain, "com.au", "public suffix refused"},
		{"a second-level public suffix is refused", def, KindDomain, "co.uk", "public suffix refused"},
		{"a private-section public suffix is refused", def, KindDomain, "github.io", "public suffix refused"},
		{"a dynamic-DNS suffix is refused", def, KindDomain, "duckdns.org", "public suffix refused"},
		{"AllowPublicSuffix accepts co.uk", suffix, KindDomain, "co.uk", ""},
		{"a registered domain is accepted", def, KindDomain, "evil.co.uk", ""},
		{"a name under a private suffix is accepted", def, KindDomain, "evil.github.io", ""},

		// Top-level domains: a name must end in one the public suffix list
		// knows (its ICANN section), else it never resolves on the
		// Internet: a file name read as a domain, or an internal name.
		// AllowPrivate (an internal feed) accepts both.
		{"a file name is not a domain", def, KindDomain, "invoice.pdf", `unknown top-level domain refused: .pdf is not in the public suffix list (a file name?)`},
		{"an executable is not a domain", def, KindDomain, "payload.exe", `unknown top-level domain refused: .exe is not in the public suffix list (a file name?)`},
		{"a library is not a domain", suffix, KindDomain, "evil.dll", `unknown top-level domain refused: .dll is not in the public suffix list (a file name?)`},
		{"a script is not a domain", def, KindDomain, "run.ps1", `unknown top-level domain refused: .ps1 is not in the public suffix list (a file name?)`},
		{"a deeper name under an unknown TLD is refused", def, KindDomain, "c2.evil.dll", `unknown top-level domain refused: .dll is not in the public suffix list (a file name?)`},
		{"a URL on a file name is refused", def, KindURL, "http://payload.exe/x", `URL host: unknown top-level domain refused: .exe is not in the public suffix list (a file name?)`},
		{"an unknown TLD is accepted for an internal feed", private, KindDomain, "build01.acme", ""},
		{"a URL on an unknown TLD is accepted for an internal feed", private, KindURL, "http://build01.acme/x", ""},
		{"a real TLD that is also a file extension is a TLD", def, KindDomain, "invoice.zip", ""},
		{"a ccTLD known only by a wildcard rule (*.kh) is a TLD", def, KindDomain, "evil.com.kh", ""},
		{"a name two levels under a wildcard-only ccTLD (*.ck) is under a TLD", def, KindDomain, "evil.co.ck", ""},
		{"an IDN TLD in punycode is a TLD", def, KindDomain, "xn--e1afmkfd.xn--p1ai", ""},
		{"a new gTLD is a TLD", def, KindDomain, "evil.top", ""},
		{".invalid never resolves (RFC 6761)", def, KindDomain, "c2.invalid", `unknown top-level domain refused: .invalid is not in the public suffix list (a file name?)`},
		// Special-use and alternative-root names C2 really uses load.
		{"a Tor onion service loads (RFC 7686)", def, KindDomain, "expyuzz4wqqyqhjn.onion", ""},
		{"a URL on an onion service loads", def, KindURL, "http://expyuzz4wqqyqhjn.onion/gate", ""},
		{"a Namecoin .bit name loads", def, KindDomain, "c2server.bit", ""},
		{"an EmerDNS .bazar name loads (BazarLoader)", def, KindDomain, "reddew28c.bazar", ""},
		{"an EmerDNS .coin name loads", def, KindDomain, "c2.coin", ""},
		{"an I2P eepsite name loads", def, KindDomain, "abc.i2p", ""},
		{"an I2P base32 destination loads", def, KindDomain, "ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p", ""},
		{"a URL on an I2P eepsite loads", def, KindURL, "http://abc.i2p/gate.php", ""},
		{"i2p alone is a single label", private, KindDomain, "i2p", "single-label name refused"},
		// ENS names are reached through gateways under real top-level
		// domains, and it is the gateway's host that connections name.
		// The reason says so, and what to list instead.
		{"an ENS .eth name is not a name on the Internet", def, KindDomain, "vitalik.eth", "unknown top-level domain refused: " + ensHint("vitalik.eth")},
		{"a deeper ENS name names its own gateway host", suffix, KindDomain, "pay.vitalik.eth", "unknown top-level domain refused: " + ensHint("pay.vitalik.eth")},
		{"a URL on an ENS name is refused the same way", def, KindURL, "https://Vitalik.ETH./x", "URL host: unknown top-level domain refused: " + ensHint("vitalik.eth")},
		{"an ENS name behind its gateway is", def, KindDomain, "vitalik.eth.limo", ""},
		{"an ENS .eth name is accepted for an internal feed", private, KindDomain, "vitalik.eth", ""},
		{"a label eth elsewhere is no ENS name", def, KindDomain, "eth.evil.dll", `unknown top-level domain refused: .dll is not in the public suffix list (a file name?)`},
		// b32.i2p holds every I2P base32 destination, as a public suffix
		// holds the names registered under it.
		{"b32.i2p alone is a public suffix", def, KindDomain, "b32.i2p", "public suffix refused"},
		{"b32.i2p alone is a public suffix for an internal feed too", private, KindDomain, "b32.i2p", "public suffix refused"},
		{"b32.i2p alone is accepted with AllowPublicSuffix", suffix, KindDomain, "b32.i2p", ""},
		{"a URL on b32.i2p is no bare suffix", def, KindURL, "http://b32.i2p/x", ""},
		// Names only ever used inside a network: refused as internal
		// unless AllowPrivate.
		{"an mDNS .local name is internal", def, KindDomain, "printer.local", "internal name refused: .local is for private networks, never on the Internet"},
		{"a .lan name is internal", def, KindDomain, "nas.lan", "internal name refused: .lan is for private networks, never on the Internet"},
		{"an .internal name is internal", suffix, KindDomain, "db.corp.internal", "internal name refused: .internal is for private networks, never on the Internet"},
		{"a .corp name is internal", def, KindDomain, "dc01.acme.corp", "internal name refused: .corp is for private networks, never on the Internet"},
		{"a .home name is internal", def, KindDomain, "router.home", "internal name refused: .home is for private networks, never on the Internet"},
		{"a .localdomain name is internal", def, KindDomain, "nas.localdomain", "internal name refused: .localdomain is for private networks, never on the Internet"},
		{"a home.arpa name is internal (RFC 8375), though the list has it", def, KindDomain, "printer.home.arpa", "internal name refused: .home.arpa is for private networks, never on the Internet"},
		{"a URL on an internal name is refused", def, KindURL, "https://wiki.acme.corp/x", "URL host: internal name refused: .corp is for private networks, never on the Internet"},
		{"an internal name is accepted for an internal feed", private, KindDomain, "printer.local", ""},
		{"a URL on an internal name is accepted for an internal feed", private, KindURL, "https://wiki.acme.corp/x", ""},
		{"a label named like an internal TLD elsewhere is no internal name", def, KindDomain, "local.evil.example", ""},
		{"in-addr.arpa names are under a real TLD", def, KindDomain, "7.113.0.203.in-addr.arpa", ""},

		// Documentation ranges and example names are NOT refused: tests use them.
		{"TEST-NET-1 is accepted", def, KindIP, "192.0.2.1", ""},
		{"TEST-NET-2 is accepted", def, KindCIDR, "198.51.100.0/24", ""},
		{"TEST-NET-3 is accepted", def, KindIP, "203.0.113.77", ""},
		{"the IPv6 documentation prefix is accepted", def, KindCIDR, "2001:db8::/32", ""},
		{"an .example name is accepted", def, KindDomain, "update.bad-cdn.example", ""},
		{"a .test name is accepted", def, KindDomain, "c2.evil.test", ""},
		{"a URL on an .example name is accepted", def, KindURL, "http://c2.evil.example/x", ""},
		{"a public address is accepted", def, KindIP, "8.8.8.8", ""},
		{"a public URL is accepted", def, KindURL, "https://files.bad-cdn.example/x", ""},
		{"a URL without a scheme is accepted", def, KindURL, "evil.example/gate.php", ""},
		{"a URL with userinfo and port is accepted", def, KindURL, "ftp://u:p@198.51.100.7:21/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.g.Check(tt.kind, tt.value); got != tt.reason {
				t.Fatalf("%+v.Check(%s, %q) = %q, want %q", tt.g, tt.kind, tt.value, got, tt.reason)
			}
		})
	}
}

func TestRefusalString(t *testing.T) {
	r := Refusal{Origin: "feeds/c2.csv:14", Value: "10.0.0.0/8", Reason: "private range refused"}
	if got, want := r.String(), `feeds/c2.csv:14: "10.0.0.0/8": private range refused`; got != want {
		t.Fatalf("String() = %s, want %s", got, want)
	}
}

// TestGuardFastPathAgreesWithTheRangeScan checks the first-octet shortcut
// of checkPrefix against a scan of every range, for every first octet.
// (The IPv4 ranges do not nest, so the containing range decides.)
func TestGuardFastPathAgreesWithTheRangeScan(t *testing.T) {
	for o := 0; o < 256; o++ {
		for _, g := range []Guard{{}, {AllowPrivate: true}} {
			a := netip.AddrFrom4([4]byte{byte(o), 1, 2, 3})
			want := ""
			for _, r := range gdRangesV4 {
				if r.p.Contains(a) && !g.allows(r.class) {
					want = gdClassNames[r.class] + " range refused"
				}
			}
			if got := g.Check(KindIP, a.String()); got != want {
				t.Fatalf("%+v.Check(ip, %s) = %q, want %q", g, a, got, want)
			}
		}
	}
}

// ensHint is the reason an ENS name d is refused with, after "unknown
// top-level domain refused: ".
func ensHint(d string) string {
	return ".eth names are ENS names, which connections reach through a gateway: list the gateway's host (" + d + ".limo), or set allow.private"
}
