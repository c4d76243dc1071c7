package match

import (
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
)

// NormalizeHost extracts and canonicalises the host of a RemoteUrl or a bare
// host: lower-case, IDN labels in punycode, no scheme, userinfo, port, path or
// trailing dot. An IP literal (with or without brackets) comes back in
// netip's canonical form, IPv4-mapped IPv6 unmapped and any zone dropped.
// ok is false when s holds no usable host (empty, bad characters, an empty
// label, a label over 63 or a name over 253 characters, a bad port).
//
// It is safe for concurrent use. It allocates the result; AppendHost does not.
func NormalizeHost(s string) (host string, ok bool) {
	var arr [256]byte
	b, ok := AppendHost(arr[:0], s)
	if !ok {
		return "", false
	}
	return string(b), true
}

// AppendHost is the allocation-free form of NormalizeHost: it appends the
// canonical host of s to dst. On failure it returns dst unchanged and false.
// It allocates only when the host holds non-ASCII characters (the IDN path)
// or dst must grow.
func AppendHost(dst []byte, s string) ([]byte, bool) {
	var u rawURL
	ok := splitURL(s, &u)
	if !ok {
		return dst, false
	}
	out, _, ok := appendHostPart(dst, &u)
	if !ok {
		return dst, false
	}
	return out, true
}

// NormalizeURL canonicalises a URL: scheme and host lower-cased (host as by
// NormalizeHost), userinfo and fragment dropped, the scheme's default port
// dropped (http and ws 80, https and wss 443, ftp 21), an empty path made
// "/", an empty query dropped, percent-escapes upper-cased, escapes of
// unreserved characters (letters, digits, "-._~") decoded, and control,
// space and non-ASCII bytes and a stray "%" percent-encoded. Path and query
// keep their case. A value without a scheme is taken as http:// when it has
// a path, query or fragment ("evil.com/x"); a bare host ("evil.com",
// "evil.com:8080") is not a URL and gives ok false, as does anything
// NormalizeHost refuses.
//
// It is safe for concurrent use. It allocates the result; AppendURL does not.
func NormalizeURL(s string) (string, bool) {
	var arr [512]byte
	b, ok := AppendURL(arr[:0], s)
	if !ok {
		return "", false
	}
	return string(b), true
}

// AppendURL is the allocation-free form of NormalizeURL: it appends the
// canonical URL to dst. On failure it returns dst unchanged and false.
func AppendURL(dst []byte, s string) ([]byte, bool) {
	var u rawURL
	ok := splitURL(s, &u)
	if !ok || !u.isURL() {
		return dst, false
	}
	out, ok := appendURLParts(dst, &u)
	if !ok {
		return dst, false
	}
	return out, true
}

// rawURL holds the parts of a RemoteUrl as substrings of the input; nothing
// is validated or canonicalised yet.
type rawURL struct {
	scheme    string // without "://"; empty when absent
	relative  bool   // started with "//"
	host      string // brackets removed
	bracketed bool   // host was written [like:this]
	port      string // digits as written; empty when absent
	hasTail   bool   // a path, query or fragment followed the authority
	tail      string // from the first '/', '?' or '#' on
}

// pathQuery splits the tail into the path (up to '?' or '#', possibly
// empty) and the query (after '?', before '#').
func (u *rawURL) pathQuery() (path, query string) {
	t := u.tail
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case '?':
			q := t[i+1:]
			if j := strings.IndexByte(q, '#'); j >= 0 {
				q = q[:j]
			}
			return t[:i], q
		case '#':
			return t[:i], ""
		}
	}
	return t, ""
}

// isURL reports whether the value is a URL for URL matching: it has a
// scheme, starts with "//", or has something after the host.
func (u *rawURL) isURL() bool {
	return u.scheme != "" || u.relative || u.hasTail
}

// splitURL cuts s into its parts, into u (which must be zero), without
// allocating. It returns false only when the authority is malformed (an
// unclosed bracket, junk after it, a port that is not a number up to
// 65535).
func splitURL(s string, u *rawURL) bool {
	s = trimASCIISpace(s)
	rest := s
	if i := schemeEnd(s); i > 0 {
		u.scheme = s[:i]
		rest = s[i+3:]
	} else if len(s) >= 2 && s[0] == '/' && s[1] == '/' {
		u.relative = true
		rest = s[2:]
	}
	// One pass over the authority: where it ends, its last '@', and the
	// first and last ':' after that '@'.
	auth, tail := rest, ""
	at, colon, colons := -1, -1, 0
scan:
	for i := 0; i < len(rest); i++ {
		// Most bytes of an authority are none of these: one table lookup
		// each instead of five comparisons.
		if !authoritySpecial[rest[i]] {
			continue
		}
		switch rest[i] {
		case '/', '?', '#':
			auth, tail = rest[:i], rest[i:]
			u.hasTail = true
			break scan
		case '@':
			at, colon, colons = i, -1, 0
		case ':':
			if colon < 0 {
				colon = i
			}
			colons++
		}
	}
	if at >= 0 {
		auth = auth[at+1:]
		colon -= at + 1
	}
	switch {
	case len(auth) > 0 && auth[0] == '[':
		j := strings.IndexByte(auth, ']')
		if j < 0 {
			return false
		}
		u.host = auth[1:j]
		u.bracketed = true
		if after := auth[j+1:]; after != "" {
			if after[0] != ':' {
				return false
			}
			u.port = after[1:]
		}
	case colons == 0:
		u.host = auth
	case colons > 1:
		// Two colons or more: an IPv6 literal without brackets.
		u.host = auth
	default:
		u.host, u.port = auth[:colon], auth[colon+1:]
	}
	if !validPort(u.port) {
		return false
	}
	u.tail = tail
	return true
}

// schemeEnd returns the length of the scheme when s starts with
// "scheme://" (RFC 3986 scheme characters), else -1.
func schemeEnd(s string) int {
	if len(s) == 0 || schemeChars[s[0]] != schemeLetter {
		return -1
	}
	// One table lookup per byte: a bare host of mixed letters and digits
	// would mispredict a branch per class change.
	for i := 1; i < len(s); i++ {
		switch schemeChars[s[i]] {
		case schemeLetter, schemeOther:
		case schemeColon:
			if strings.HasPrefix(s[i:], "://") {
				return i
			}
			return -1
		default:
			return -1
		}
	}
	return -1
}

// authoritySpecial marks the bytes splitURL looks for in an authority.
var authoritySpecial = [256]bool{'/': true, '?': true, '#': true, '@': true, ':': true}

// schemeChars classifies bytes for schemeEnd: letters may start a scheme,
// digits, '+', '-' and '.' may follow, ':' ends it.
var schemeChars = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = schemeLetter, schemeLetter
	}
	for _, c := range "0123456789+-." {
		t[c] = schemeOther
	}
	t[':'] = schemeColon
	return t
}()

const (
	schemeNone = iota
	schemeLetter
	schemeOther
	schemeColon
)

func trimASCIISpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// validPort accepts "" or a decimal number up to 65535 (leading zeros allowed).
func validPort(p string) bool {
	_, ok := parsePort(p)
	return ok || p == ""
}

// parsePort parses a non-empty decimal port up to 65535.
func parsePort(p string) (uint16, bool) {
	if p == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, false
		}
	}
	return uint16(n), true
}

// appendHostPart appends the canonical host of u. addr is valid when the host
// is an IP literal.
func appendHostPart(dst []byte, u *rawURL) (_ []byte, addr netip.Addr, ok bool) {
	h := u.host
	if h == "" {
		return dst, addr, false
	}
	if u.bracketed || strings.IndexByte(h, ':') >= 0 {
		a, err := netip.ParseAddr(h)
		if err != nil {
			return dst, addr, false
		}
		a = a.WithZone("").Unmap()
		return a.AppendTo(dst), a, true
	}
	if h4 := strings.TrimSuffix(h, "."); digitsAndDots(h4) {
		// Parse only what can be a dotted quad: ParseAddr's error
		// allocates. netip refuses leading zeros, so a match is canonical.
		if a, err := netip.ParseAddr(h4); err == nil {
			return a.AppendTo(dst), a, true
		}
	}
	// Most hosts are ASCII: one pass lower-cases and checks them; only a
	// host it refuses is looked at for non-ASCII bytes (an IDN host).
	if out, ok := appendASCIIHost(dst, h); ok {
		return out, addr, true
	}
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			return appendIDNHost(dst, h)
		}
	}
	return dst, addr, false
}

func digitsAndDots(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// appendIDNHost converts a non-ASCII host to punycode (UTS #46 lookup
// profile) and validates the result as an ASCII host. It allocates.
func appendIDNHost(dst []byte, h string) ([]byte, netip.Addr, bool) {
	a, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return dst, netip.Addr{}, false
	}
	for i := 0; i < len(a); i++ {
		if a[i] >= 0x80 {
			return dst, netip.Addr{}, false
		}
	}
	if ip, err := netip.ParseAddr(strings.TrimSuffix(a, ".")); err == nil && ip.Is4() {
		// Full-width digits map to an IPv4 literal; its one trailing dot
		// goes, as an ASCII one's does (IDNA keeps it, and turns a
		// full-width or ideographic one into it).
		return ip.AppendTo(dst), ip, true
	}
	out, ok := appendASCIIHost(dst, a)
	return out, netip.Addr{}, ok
}

// hostByte maps a byte allowed in a host name to its lower-case form and
// every other byte to 0.
var hostByte = func() (t [256]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = byte(c), byte(c)
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c)
	}
	t['-'], t['_'], t['.'] = '-', '_', '.'
	return t
}()

// appendASCIIHost lower-cases and validates an ASCII host name: letters,
// digits, '-' and '_' in non-empty labels of at most 63 characters, at most
// 253 characters in all, one trailing dot dropped.
func appendASCIIHost(dst []byte, h string) ([]byte, bool) {
	if strings.HasSuffix(h, ".") {
		h = h[:len(h)-1]
	}
	if h == "" || len(h) > 253 {
		return dst, false
	}
	start := len(dst)
	dst = append(dst, h...)
	out := dst[start:]
	label := 0
	for i := 0; i < len(out); i++ {
		c := hostByte[out[i]]
		switch c {
		case 0:
			return dst[:start], false
		case '.':
			if label == 0 {
				return dst[:start], false
			}
			label = 0
			continue
		}
		out[i] = c
		label++
		if label > 63 {
			return dst[:start], false
		}
	}
	if label == 0 {
		return dst[:start], false
	}
	return dst, true
}

// defaultPort returns the port a scheme implies, or "" when none is known.
// The scheme must be lower-case.
func defaultPort(scheme []byte) string {
	switch string(scheme) {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	case "ftp":
		return "21"
	}
	return ""
}

// appendURLParts appends the canonical URL of u (see NormalizeURL). u must
// satisfy isURL.
func appendURLParts(dst []byte, u *rawURL) ([]byte, bool) {
	dst, _, _, _, ok := appendOrigin(dst, u)
	if !ok {
		return dst, false
	}
	return appendPathQuery(dst, u), true
}

// appendOrigin appends the canonical "scheme://host[:port]" of u and
// returns where its host starts and ends in dst, and the host's address
// when it is an IP literal. u must satisfy isURL.
func appendOrigin(dst []byte, u *rawURL) (_ []byte, hostStart, hostEnd int, addr netip.Addr, ok bool) {
	start := len(dst)
	if u.scheme == "" {
		dst = append(dst, "http"...)
	} else {
		for i := 0; i < len(u.scheme); i++ {
			dst = append(dst, lowerASCII(u.scheme[i]))
		}
	}
	schemeLen := len(dst) - start
	dst = append(dst, "://"...)
	hostStart = len(dst)
	dst, addr, ok = appendHostPart(dst, u)
	if !ok {
		return dst[:start], 0, 0, addr, false
	}
	hostEnd = len(dst)
	if addr.Is6() {
		// Bracket the literal: shift it right by one.
		dst = append(dst, 0)
		copy(dst[hostStart+1:], dst[hostStart:hostEnd])
		dst[hostStart] = '['
		hostStart++
		hostEnd++
		dst = append(dst, ']')
	}
	if p, ok := parsePort(u.port); ok {
		var digits [5]byte
		n := len(digits)
		for v := int(p); ; v /= 10 {
			n--
			digits[n] = byte('0' + v%10)
			if v < 10 {
				break
			}
		}
		if string(digits[n:]) != defaultPort(dst[start:start+schemeLen]) {
			dst = append(dst, ':')
			dst = append(dst, digits[n:]...)
		}
	}
	return dst, hostStart, hostEnd, addr, true
}

// appendPathQuery appends the canonical path and query of u: "/" for an
// empty path, "?query" unless the query is empty.
func appendPathQuery(dst []byte, u *rawURL) []byte {
	path, query := u.pathQuery()
	if path == "" {
		dst = append(dst, '/')
	} else {
		dst = appendEscaped(dst, path)
	}
	if query != "" {
		dst = append(dst, '?')
		dst = appendEscaped(dst, query)
	}
	return dst
}

// escClass classifies path and query bytes for appendEscaped: 0 copies,
// 1 is '%', 2 is encoded.
var escClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if c <= ' ' || c >= 0x7f {
			t[c] = 2
		}
	}
	t['%'] = 1
	return t
}()

// appendEscaped appends a path or query with percent-escapes normalised:
// hex digits upper-cased, escapes of unreserved characters decoded, a '%'
// that starts no escape written "%25", and control, space, DEL and
// non-ASCII bytes encoded. The result is ASCII and appendEscaped leaves it
// unchanged.
func appendEscaped(dst []byte, s string) []byte {
	const hexDigits = "0123456789ABCDEF"
	for len(s) > 0 {
		i := 0
		for i < len(s) && escClass[s[i]] == 0 {
			i++
		}
		dst = append(dst, s[:i]...)
		if i == len(s) {
			break
		}
		c := s[i]
		switch {
		case c != '%':
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
			s = s[i+1:]
		case i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			if v := unhex(s[i+1])<<4 | unhex(s[i+2]); isUnreserved(v) {
				dst = append(dst, v)
			} else {
				dst = append(dst, '%', upperASCII(s[i+1]), upperASCII(s[i+2]))
			}
			s = s[i+3:]
		default:
			dst = append(dst, "%25"...)
			s = s[i+1:]
		}
	}
	return dst
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}
