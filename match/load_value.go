package match

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

var errLdEmpty = errors.New("empty value")

// errLdHashAfterHost refuses a value with '#' right after its host and no
// scheme ("203.0.113.5#c2"); ldParseAs reads it as a URL where the feed
// says the value is one.
var errLdHashAfterHost = errors.New("'#' right after the host: an inline comment needs whitespace before the '#', a URL its scheme or path (evil.example/#frag)")

// ldRefanger undoes the usual defanging of published indicators.
var ldRefanger = strings.NewReplacer("[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "[:]", ":", "[://]", "://")

// ParseValue classifies one indicator value and returns its canonical
// form:
//
//   - an IP address (IPv4 or IPv6; "::ffff:a.b.c.d" unmapped; brackets and
//     a ":port" dropped) → KindIP, netip.Addr.String();
//   - a prefix "a.b.c.d/n" → KindCIDR, the masked prefix
//     (netip.Prefix.Masked().String()); a /32 or /128 becomes KindIP;
//   - a URL (it has a "scheme://", or a host followed by '/' or '?'; in
//     an http, https, ws, wss or ftp URL any run of slashes and
//     backslashes may follow the colon, in a file URL two, as for a
//     browser and the matcher, "http:\\evil.example\x" being
//     "http://evil.example/x") → KindURL, trimmed as given with the
//     scheme and host lower-cased and the scheme's separator written "://"
//     (the host as a domain or an IP below; in an http, https, ws, wss,
//     ftp or file URL and in one without a scheme a backslash ends the
//     host, as for a browser and the matcher, and the path's backslashes
//     are written as slashes); a '*' after the host is kept
//     (a trailing '*' makes a prefix indicator; one right after the host,
//     "http://evil.com*", becomes "http://evil.com/*"), a '*' in the host
//     is an error, and so is a '#' right after the host of a value without
//     a scheme ("203.0.113.5#c2" is a value and a comment);
//   - a domain → KindDomain: lower-case, IDN labels in punycode
//     (golang.org/x/net/idna lookup profile), no trailing dot, a leading
//     "*." and a ":port" dropped; labels of letters, digits, '-' and '_',
//     and a top-level label that is not all digits.
//
// Defanged values are refanged first: "hxxp://", "[.]", "(.)", "{.}",
// "[dot]", "[:]". The canonical form reads back as itself: when
// normalising a host changes what the value is ("\u200b1.2.3.4", whose
// invisible first character IDNA drops, is the ip 1.2.3.4, not a domain),
// the canonical form is what counts. ParseValue never returns KindPattern
// (patterns come only from an explicit kind). The error says what is wrong
// without repeating s. ParseValue is safe for concurrent use.
func ParseValue(s string) (Kind, string, error) {
	k, v, err := parseValueOnce(s)
	if err == nil && (k == KindURL || k == KindDomain) && v != s {
		// Normalising a host can change what the value reads as: IDNA
		// drops invisible characters, so "\u200b1.2.3.4" is the domain
		// "1.2.3.4" and "\ufeff1.0.0.0/0" the URL "1.0.0.0/0", which read
		// back as an ip and a cidr. The canonical form is read again and
		// what it reads as wins, so that ParseValue(v) gives (k, v) back
		// and the guard judges what will be matched.
		if k2, v2, err2 := parseValueOnce(v); err2 == nil && (k2 != k || v2 != v) {
			return k2, v2, nil
		}
	}
	return k, v, err
}

// parseValueOnce is ParseValue without the second reading.
func parseValueOnce(s string) (Kind, string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return KindInvalid, "", errLdEmpty
	}
	if ldMaybeDefanged(s) {
		s = ldRefang(s)
	}
	if n, auth := ldSchemeEnd(s); n > 0 {
		return ldParseURL(s, n, auth)
	}
	if a, ok := ldParseAddr(s); ok {
		return ldAddr(s, a)
	}
	if i := ldIndexPathStart(s); i >= 0 {
		host := s[:i]
		if s[i] == '/' && i+1 < len(s) && ldAllDigits(s[i+1:]) {
			// "1.0.0.0./0" is a prefix with a stray dot, not the URL whose
			// canonical form, "1.0.0.0/0", would read back as 0.0.0.0/0.
			if _, ok := ldParseAddr(strings.TrimRight(host, ".")); ok {
				p, err := netip.ParsePrefix(s)
				if err != nil {
					return KindInvalid, "", fmt.Errorf("invalid prefix: %w", ldUnwrapNetip(err))
				}
				return ldPrefix(s, p)
			}
		}
		if strings.ContainsAny(s, " \t\n\r") {
			// "203.0.113.0/24 ; SBL1": a value and a comment, not a URL
			// (a URL with spaces comes with its scheme).
			return KindInvalid, "", errors.New("whitespace inside the value (an inline comment? a URL with spaces needs its scheme)")
		}
		if s[i] == '#' && i > 0 && strings.IndexByte(host, '\\') < 0 {
			// "203.0.113.5#c2": a value and a comment, not the URL
			// "http://203.0.113.5/" (a fragment is never sent, so it would
			// only ever match the host's root).
			return KindInvalid, "", errLdHashAfterHost
		}
		return ldParseURL(s, 0, 0)
	}
	host, port, err := ldSplitHostPort(s)
	if err != nil {
		return KindInvalid, "", err
	}
	if port != "" || host != s {
		if a, ok := ldParseAddr(host); ok {
			return ldAddr(host, a)
		}
		if strings.IndexByte(host, ':') >= 0 {
			return KindInvalid, "", errors.New("invalid IPv6 address")
		}
	}
	return ldDomain(host)
}

// ldParseAddr is netip.ParseAddr without the cost of its error for values
// that cannot be addresses (host names).
func ldParseAddr(s string) (netip.Addr, bool) {
	colon, letter := false, false
scan:
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', c == '.':
		case c == ':':
			colon = true
		case 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			letter = true
		case c == '%' && colon:
			break scan // a zone
		default:
			return netip.Addr{}, false
		}
	}
	if s == "" || letter && !colon {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

// ldIndexPathStart returns the index of the first '/', '?' or '#', or -1.
func ldIndexPathStart(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '/' || c == '?' || c == '#' {
			return i
		}
	}
	return -1
}

func ldMaybeDefanged(s string) bool {
	if len(s) >= 4 && (s[0] == 'h' || s[0] == 'H') && (s[1] == 'x' || s[1] == 'X') {
		return true
	}
	return strings.ContainsAny(s, "[({")
}

// Refang undoes the defanging of a value as the loaders do ("hxxp://",
// "[.]", "(.)", "{.}", "[dot]", "[:]"), so that a value pasted from a
// report (`evil[.]example`) is looked up as the feed holds it. A value
// that is not defanged is returned as it is.
func Refang(s string) string {
	if !ldMaybeDefanged(s) {
		return s
	}
	return ldRefang(s)
}

func ldRefang(s string) string {
	if len(s) >= 4 && strings.EqualFold(s[:4], "hxxp") && ldDefangedSchemeEnd(s[4:]) {
		s = "http" + s[4:]
	}
	return ldRefanger.Replace(s)
}

// ldDefangedSchemeEnd reports whether rest, what follows a leading "hxxp",
// ends a scheme: an optional 's', then "://", "[:]//" or "[://]". A name
// that merely starts with "hxxp" ("hxxpress.example") is not defanged.
func ldDefangedSchemeEnd(rest string) bool {
	if rest != "" && (rest[0] == 's' || rest[0] == 'S') {
		rest = rest[1:]
	}
	return strings.HasPrefix(rest, "://") || strings.HasPrefix(rest, "[:]//") || strings.HasPrefix(rest, "[://]")
}

func ldAllDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ldUnwrapNetip drops netip's quoting of the whole input from its errors.
func ldUnwrapNetip(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, "): "); i >= 0 {
		return errors.New(msg[i+3:])
	}
	return err
}

// ldAddr returns the canonical form of an address; src is its text, reused
// when already canonical.
func ldAddr(src string, a netip.Addr) (Kind, string, error) {
	if a.Zone() != "" {
		return KindInvalid, "", errors.New("an address with a zone is not an indicator")
	}
	a = a.Unmap()
	var buf [64]byte
	b := a.AppendTo(buf[:0])
	if string(b) == src {
		return KindIP, src, nil
	}
	return KindIP, string(b), nil
}

// ldPrefix returns the canonical form of a prefix; src is its text, reused
// when already canonical.
func ldPrefix(src string, p netip.Prefix) (Kind, string, error) {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	if p.IsSingleIP() {
		return ldAddr("", p.Addr())
	}
	var buf [64]byte
	if b := p.AppendTo(buf[:0]); string(b) != src {
		return KindCIDR, string(b), nil
	}
	return KindCIDR, src, nil
}

// ldSplitHostPort splits "host:port", "[v6]" and "[v6]:port". A value with
// two colons or more and no brackets is returned whole (an IPv6 literal).
func ldSplitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		j := strings.IndexByte(s, ']')
		if j < 0 {
			return "", "", errors.New("unclosed '[' in address")
		}
		host, rest := s[1:j], s[j+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", "", errors.New("unexpected text after ']'")
			}
			port = rest[1:]
			if !ldValidPort(port) {
				return "", "", errors.New("invalid port")
			}
		}
		if _, err := netip.ParseAddr(host); err != nil {
			return "", "", errors.New("invalid address in brackets")
		}
		return host, port, nil
	}
	c := strings.IndexByte(s, ':')
	if c < 0 || strings.IndexByte(s[c+1:], ':') >= 0 {
		return s, "", nil
	}
	host, port = s[:c], s[c+1:]
	if !ldValidPort(port) {
		return "", "", errors.New("invalid port")
	}
	return host, port, nil
}

func ldValidPort(p string) bool {
	if p == "" || len(p) > 5 || !ldAllDigits(p) {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// ldSchemeEnd returns the length of the scheme s starts with, and where
// its authority starts, as splitURL reads them: "scheme://"; for http,
// https, ws, wss and ftp the colon and any run of slashes and backslashes,
// or none ("http:\\evil.example", "http:/evil.example",
// "http:///evil.example", "http:evil.example"), but for a port after the
// colon ("ftp:21" is a host and a port; portAfterColon); for file the
// colon and exactly two. n is 0 when s starts with none.
func ldSchemeEnd(s string) (n, authStart int) {
	i := schemeLen(s)
	if i <= 0 {
		return 0, 0
	}
	after := s[i+1:]
	switch specialScheme(s[:i]) {
	case schemeSpecial:
		// Any run of slashes and backslashes, or none ("http:evil.example"),
		// but for a port ("ftp:21", "ws:8080/x": a host and a port).
		if portAfterColon(after) {
			return 0, 0
		}
		return i, len(s) - len(trimSlashes(after))
	case schemeFile:
		if len(after) >= 2 && isSlash(after[0]) && isSlash(after[1]) {
			return i, i + 3
		}
	default:
		if strings.HasPrefix(after, "//") {
			return i, i + 3
		}
	}
	return 0, 0
}

// ldParseURL canonicalises a URL; n is the scheme's length (0: none) and
// authStart where the authority starts (see ldSchemeEnd). The canonical form
// writes the scheme's separator as "://".
func ldParseURL(s string, n, authStart int) (Kind, string, error) {
	scheme, rest := "", s
	if n > 0 {
		scheme, rest = strings.ToLower(s[:n]), s[authStart:]
	}
	// In a special scheme's URL, and in one without a scheme (taken as
	// http), a backslash is a slash (WHATWG; splitURL): it ends the host,
	// and the path's are written as slashes, so that the guard judges the
	// host the index keys.
	backslash := n == 0 || specialScheme(scheme) != schemeNotSpecial
	auth, tail := rest, ""
	if i := ldIndexPathStart(rest); i >= 0 {
		auth, tail = rest[:i], rest[i:]
	}
	if i := strings.IndexByte(auth, '\\'); i >= 0 && backslash {
		auth, tail = rest[:i], rest[i:]
	}
	if backslash {
		tail = ldSlashPath(tail)
	}
	userinfo := ""
	if i := strings.LastIndexByte(auth, '@'); i >= 0 {
		userinfo, auth = auth[:i+1], auth[i+1:]
	}
	if auth == "" {
		return KindInvalid, "", errors.New("URL without a host")
	}
	if tail == "" && strings.IndexByte(auth, '*') == len(auth)-1 && len(auth) > 1 {
		// "http://evil.com*": every URL on the host, written as
		// "http://evil.com/*" (a star right after the host cannot extend
		// the host name: "http://evil.com.au/" is not on evil.com).
		auth, tail = auth[:len(auth)-1], "/*"
	}
	if strings.IndexByte(auth, '*') >= 0 {
		return KindInvalid, "", errors.New("wildcard in URL host (a '*' may end the URL, as in http://evil.example/*, but not stand in the host)")
	}
	var host, port string
	var bracketed bool
	if strings.HasPrefix(auth, "[") {
		j := strings.IndexByte(auth, ']')
		if j < 0 {
			return KindInvalid, "", errors.New("unclosed '[' in URL host")
		}
		host, bracketed = auth[1:j], true
		if after := auth[j+1:]; after != "" {
			if after[0] != ':' {
				return KindInvalid, "", errors.New("unexpected text after ']' in URL host")
			}
			port = after[1:]
			if !ldValidPort(port) {
				return KindInvalid, "", errors.New("invalid port in URL")
			}
		}
	} else {
		c := strings.IndexByte(auth, ':')
		switch {
		case c < 0:
			host = auth
		case strings.IndexByte(auth[c+1:], ':') >= 0:
			host = auth // an IPv6 literal without brackets
		default:
			host, port = auth[:c], auth[c+1:]
			if !ldValidPort(port) {
				return KindInvalid, "", errors.New("invalid port in URL")
			}
		}
	}
	var canonHost string
	if bracketed || strings.IndexByte(host, ':') >= 0 {
		a, err := netip.ParseAddr(host)
		if err != nil || a.Zone() != "" {
			return KindInvalid, "", errors.New("invalid IPv6 address in URL host")
		}
		a = a.Unmap()
		if a.Is6() {
			canonHost = "[" + a.String() + "]"
		} else {
			canonHost = a.String()
		}
	} else {
		var err error
		if n > 0 {
			_, canonHost, err = ldURLHost(host)
		} else {
			_, canonHost, err = ldDomain(host)
		}
		if err != nil {
			return KindInvalid, "", fmt.Errorf("URL host: %w", err)
		}
	}
	var arr [256]byte
	b := arr[:0]
	if scheme != "" {
		b = append(b, scheme...)
		b = append(b, "://"...)
	}
	b = append(b, userinfo...)
	b = append(b, canonHost...)
	if port != "" {
		b = append(b, ':')
		b = append(b, port...)
	}
	b = append(b, tail...)
	if string(b) == s {
		return KindURL, s, nil // already canonical: no copy
	}
	return KindURL, string(b), nil
}

// ldSlashPath writes the backslashes of a URL's path (up to '?' or '#')
// as slashes.
func ldSlashPath(tail string) string {
	if strings.IndexByte(tail, '\\') < 0 {
		return tail
	}
	end := strings.IndexAny(tail, "?#")
	if end < 0 {
		end = len(tail)
	}
	return strings.ReplaceAll(tail[:end], "\\", "/") + tail[end:]
}

// ldURLHost canonicalises the host, not in brackets, of a URL with a
// scheme as the matcher reads it (appendHostPart), as a browser does:
// percent-escapes decoded ("evil%2Eexample" is evil.example), IDN labels
// in punycode, and a name that ends in a number (its last label all
// digits, or "0x" and hex digits) an IPv4 address in any form a browser
// reads ("0x7f.1", "0177.0.0.1", "2130706433" are 127.0.0.1, KindIP), or
// an error when it is not one ("1.2.3.256").
func ldURLHost(h string) (Kind, string, error) {
	if strings.IndexByte(h, '%') >= 0 {
		h = string(appendPercentDecoded(make([]byte, 0, len(h)), h))
		if strings.IndexByte(h, ':') >= 0 {
			// "2001%3Adb8%3A%3A1": a browser reads an IPv6 address only
			// in brackets and a port only before decoding, so an escaped
			// ':' is a character no host holds, not an address.
			return KindInvalid, "", errors.New("invalid character ':' in domain (percent-escaped)")
		}
	}
	return ldHost(h, true)
}

// ldDomain canonicalises a host name (or an IPv4 literal with a trailing
// dot, which it returns as KindIP). A name that ends in a number is
// refused: as a value, or the host of a URL without a scheme, only the
// dotted-decimal form of an address is read as one ("107.183.86" and
// "10.5" are refused, not the addresses a browser would make of them).
func ldDomain(h string) (Kind, string, error) {
	return ldHost(h, false)
}

// ldHost is ldDomain, or ldURLHost after its decoding when url is set:
// then a name that ends in a number is read as an IPv4 address in any of
// a browser's forms, and a leading "*." is not dropped.
func ldHost(h string, url bool) (Kind, string, error) {
	dot := strings.HasSuffix(h, ".")
	h = strings.TrimSuffix(h, ".")
	if !url {
		h = strings.TrimPrefix(h, "*.")
	}
	if h == "" {
		return KindInvalid, "", errLdEmpty
	}
	ascii, upper := true, false
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c >= 0x80 {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if !ascii {
		if !utf8.ValidString(h) {
			// IDNA would make each stray byte U+FFFD, a name that matches
			// any other stray bytes.
			return KindInvalid, "", errors.New("host is not valid UTF-8")
		}
		a, err := idna.Lookup.ToASCII(h)
		if err != nil {
			return KindInvalid, "", fmt.Errorf("invalid international domain name: %w", ldUnwrapIDNA(err))
		}
		if strings.HasSuffix(a, ".") && emptyACELabelLast(h) {
			// Not the trailing dot it looks like (see appendIDNHost).
			return KindInvalid, "", errors.New(`invalid international domain name: its last label is "xn--" with nothing after it`)
		}
		h, upper = a, false
		if addr, err := netip.ParseAddr(h); err == nil {
			return ldAddr(h, addr) // full-width digits map to an IPv4 literal
		}
	} else if upper {
		h = strings.ToLower(h)
	}
	if a, ok := ldParseAddr(h); ok {
		return ldAddr(h, a)
	}
	// One trailing dot has gone: one more (IDNA keeps a full-width one as
	// '.') is an empty label, which ends in no number ("1.2.3.4.." is a
	// name for a browser, and no host here).
	if url && !(dot && strings.HasSuffix(h, ".")) && hostEndsInNumber(h) {
		a, ok := parseIPv4Host(h)
		if !ok {
			return KindInvalid, "", errors.New("not an IPv4 address, and not a domain (its last label is a number)")
		}
		return ldAddr("", a)
	}
	if err := ldValidHostname(h); err != nil {
		return KindInvalid, "", err
	}
	return KindDomain, h, nil
}

func ldUnwrapIDNA(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "idna: "))
}

// ldValidHostname checks a lower-case ASCII host name.
func ldValidHostname(h string) error {
	if len(h) > 253 {
		return errors.New("domain longer than 253 characters")
	}
	label, digitsOnly := 0, true
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', c == '-', c == '_':
			digitsOnly = false
		case '0' <= c && c <= '9':
		case c == '.':
			if label == 0 {
				return errors.New("empty label in domain")
			}
			label, digitsOnly = 0, true
			continue
		case c == ' ' || c == '\t':
			return errors.New("whitespace inside the value")
		default:
			if c < 0x20 || c >= 0x7f {
				return fmt.Errorf("invalid character %q in domain", rune(c))
			}
			return fmt.Errorf("invalid character '%c' in domain", c)
		}
		label++
		if label > 63 {
			return errors.New("domain label longer than 63 characters")
		}
	}
	if label == 0 {
		return errors.New("empty label in domain")
	}
	if digitsOnly {
		return errors.New("not an IP address, and not a domain (its last label is all digits)")
	}
	if hostEndsInNumber(h) {
		// "c2.0x1f": a browser reads the name as an IPv4 address, and
		// refuses it as one.
		return errors.New("not an IP address, and not a domain (its last label is a hex number)")
	}
	return nil
}
