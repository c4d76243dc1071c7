package match

import (
	"bytes"
	"net/netip"
	"strings"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/net/idna"
)

// NormalizeHost extracts and canonicalises the host of a RemoteUrl or a bare
// host: lower-case, IDN labels in punycode, no scheme, userinfo, port, path or
// trailing dot. An IP literal (with or without brackets) comes back in
// netip's canonical form, IPv4-mapped IPv6 unmapped and any zone dropped.
// ok is false when s holds no usable host (empty, bad characters, an empty
// label, a label over 63 or a name over 253 characters, a bad port).
//
// The host is the one a browser connects to (the WHATWG URL Standard): in
// an http, https, ws, wss, ftp or file URL, and in a value without a
// scheme, a backslash ends the host as a slash does
// ("http://evil.com\@good.com/" and "evil.com\x" are on evil.com), and
// any slashes and backslashes after such a scheme's colon are skipped
// ("http:\\evil.com", "http:///evil.com", "http:evil.com"; file takes
// exactly two), except that such a scheme's name followed by a colon and
// a port is a host and its port ("ftp:21", "ws:8080/x"), as in a value
// without a scheme. As for a browser, the ASCII tabs and newlines
// anywhere in s are not there ("http://ev\til.com/" is on evil.com), nor
// are the C0 control characters and spaces around it. The host's
// percent-escapes are decoded ("http://evil%2Ecom/" is on evil.com), and
// a host that ends in a number is an IPv4 address in any form a browser
// reads ("http://0x7f.1/", "http://2130706433/" are on 127.0.0.1), or no
// usable host when it is not one ("http://1.2.3.256/").
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
// It allocates only when the host holds non-ASCII characters, escaped or
// not (the IDN path), when a tab or newline comes before the path, or when
// dst must grow (a host with percent-escapes is decoded in dst's spare
// capacity, so dst needs room for it).
func AppendHost(dst []byte, s string) ([]byte, bool) {
	var u rawURL
	ok := splitURL(s, &u)
	if !ok && u.tabOrNewline {
		ok = splitURLWithoutTabOrNewline(s, &u)
	}
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
// The path is the one a client requests (the WHATWG URL Standard): where
// NormalizeHost takes a backslash for a slash it separates path segments
// too ("http:\\evil.com\a\b" is "http://evil.com/a/b"; in the query it is
// kept), and dot segments are resolved: "." and "%2e" go, ".." (or
// ".%2e", "%2e.", "%2e%2e", any case) goes with the segment before it but
// never above the root, and a trailing one leaves a trailing slash
// ("/a/../b" is "/b", "/a/." is "/a/", "/.." is "/"). The ASCII tabs and
// newlines anywhere in s are not there, as for NormalizeHost.
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
// canonical URL to dst. On failure it returns dst unchanged and false. It
// allocates only as AppendHost does, and when a path and query over 128
// bytes hold a tab or newline.
func AppendURL(dst []byte, s string) ([]byte, bool) {
	return appendURL(dst, s, false)
}

// appendURLIndicator appends the key of a URL indicator's value v, its
// trailing '*' removed when isPrefix: v as AppendURL normalises it, except
// that the last segment of a prefix's path is not resolved as a dot
// segment, as the '*' continues it ("http://evil.com/a/..*" is every URL
// whose path starts with "/a/.." as text, such as "/a/..x", not every URL
// on evil.com). A segment a '?' ends is complete: "…/a/..?*" is "…/?*".
func appendURLIndicator(dst []byte, v string, isPrefix bool) ([]byte, bool) {
	return appendURL(dst, v, isPrefix)
}

func appendURL(dst []byte, s string, openEnd bool) ([]byte, bool) {
	var u rawURL
	ok := splitURL(s, &u)
	if !ok && u.tabOrNewline {
		ok = splitURLWithoutTabOrNewline(s, &u)
	}
	if !ok || !u.isURL() {
		return dst, false
	}
	out, ok := appendURLParts(dst, &u, openEnd)
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
	// tabOrNewline is set, and splitURL fails, when an ASCII tab or
	// newline comes before the path: the WHATWG URL Standard removes
	// them before it reads a URL (splitURLWithoutTabOrNewline).
	tabOrNewline bool
}

// pathQuery splits the tail into the path (up to '?' or '#', possibly
// empty) and the query (after '?', before '#').
func (u *rawURL) pathQuery() (path, query string) {
	return splitPathQuery(u.tail)
}

// splitPathQuery splits a URL's tail into its path and query (see
// rawURL.pathQuery).
func splitPathQuery(t string) (path, query string) {
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
//
// It reads the authority as the WHATWG URL Standard does for special
// schemes (http, https, ws, wss, ftp, file) and for a value without a
// scheme (taken as http): a backslash is a slash, so it ends the authority
// ("http://evil.com\@good.com/" is on evil.com), "http:\\evil.com",
// "http:/evil.com" and "http:evil.com" have a scheme, and the slashes and
// backslashes after a special scheme's colon, or at the start of a value
// without one, are all skipped ("http:///evil.com" is on evil.com; file
// takes exactly two). Such a scheme's name, a colon and a port with
// nothing after it but a path, query or fragment is a host and its port
// ("ftp:21", "ws:8080/x"; portAfterColon). Other schemes need "://" and
// keep a backslash as a byte.
//
// An ASCII tab or newline anywhere before the path, where removing it
// could change the scheme or the authority, makes splitURL fail with
// u.tabOrNewline set: the caller reads s again without them
// (splitURLWithoutTabOrNewline). Those in the path, query and fragment
// are left to appendPathQuery. The C0 control characters and spaces
// around s are trimmed.
func splitURL(s string, u *rawURL) bool {
	s = trimASCIISpace(s)
	rest := s
	if i := schemeLen(s); i > 0 {
		after := s[i+1:]
		switch {
		case len(after) >= 2 && after[0] == '/' && after[1] == '/':
			u.scheme, rest = s[:i], after[2:]
			if rest != "" && isSlash(rest[0]) {
				// Rare: more slashes than "://" ("http:///evil.com").
				if specialScheme(u.scheme) == schemeSpecial {
					rest = trimSlashes(rest)
				}
			}
		case after != "" && isSlash(after[0]):
			// "http:\\evil.com", "http:/evil.com": a special scheme
			// needs no "//".
			if len(after) >= 2 && isTabOrNewline(after[1]) {
				// "file:/\t/evil.com" is file://evil.com.
				u.tabOrNewline = true
				return false
			}
			switch specialScheme(s[:i]) {
			case schemeSpecial:
				u.scheme, rest = s[:i], trimSlashes(after)
			case schemeFile:
				if len(after) >= 2 && isSlash(after[1]) {
					u.scheme, rest = s[:i], after[2:]
				}
			}
		default:
			// "http:evil.com": a special scheme needs no slash at all
			// (WHATWG: special authority ignore slashes state); "file:x"
			// is a path, and "evil.com:8080" a host and a port, as are
			// "ftp:21" and "ws:8080/x" (portAfterColon).
			if specialScheme(s[:i]) == schemeSpecial && !portAfterColon(after) {
				u.scheme, rest = s[:i], after
			}
		}
	}
	if u.scheme == "" && len(s) >= 2 && isSlash(s[0]) {
		switch {
		case isSlash(s[1]):
			u.relative = true
			rest = trimSlashes(s)
		case isTabOrNewline(s[1]):
			// "/\t/evil.com" is //evil.com.
			u.tabOrNewline = true
			return false
		}
	}
	// One pass over the authority: where it ends, its last '@', and the
	// first and last ':' after that '@'.
	auth, tail := rest, ""
	at, colon, colons := -1, -1, 0
scan:
	for i := 0; i < len(rest); i++ {
		// Most bytes of an authority are none of these: one table lookup
		// each instead of six comparisons.
		if !authoritySpecial[rest[i]] {
			continue
		}
		switch rest[i] {
		case '\\':
			if !u.backslashIsSlash() {
				continue
			}
			fallthrough
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
		default: // '\t', '\n', '\r'
			u.tabOrNewline = true
			return false
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

// portAfterColon reports whether after, what follows the colon of a
// special scheme's name that no slash follows, is a port up to 65535 that
// ends the authority ("ftp:21", "ws:8080/x", "http:80?q"): the name is
// then a host and the number its port, as a RemoteUrl without a scheme
// writes them ("evil.com:8080"), not a scheme and a host. A browser given
// such a link reads the number as an IPv4 address, but every number a
// port can be is one in 0.0.0.0/16, where no server is, while a host
// named ftp or ws is an ordinary intranet name.
func portAfterColon(after string) bool {
	n := 0
	for n < len(after) && '0' <= after[n] && after[n] <= '9' {
		n++
	}
	if n < len(after) {
		switch after[n] {
		case '/', '\\', '?', '#':
		default:
			return false // "http:80.1", "http:80@evil.com"
		}
	}
	_, ok := parsePort(after[:n])
	return ok
}

// splitURLWithoutTabOrNewline is splitURL of a copy of s without its
// ASCII tabs and newlines; u is overwritten. It allocates the copy (which
// splitURL's parts would carry to the heap from any buffer): only a
// RemoteUrl with a tab or newline before its path, which no client sends
// as it is, takes it.
func splitURLWithoutTabOrNewline(s string, u *rawURL) bool {
	*u = rawURL{}
	return splitURL(withoutTabOrNewline(make([]byte, 0, len(s)), s), u)
}

// withoutTabOrNewline appends s to dst without its ASCII tabs and newlines,
// and returns what it appended as a string sharing dst's memory, which
// must not change while the string is in use.
func withoutTabOrNewline(dst []byte, s string) string {
	start := len(dst)
	for i := 0; i < len(s); i++ {
		if !isTabOrNewline(s[i]) {
			dst = append(dst, s[i])
		}
	}
	if len(dst) == start {
		return ""
	}
	return unsafe.String(&dst[start], len(dst)-start)
}

func isTabOrNewline(c byte) bool { return c == '\t' || c == '\n' || c == '\r' }

// backslashIsSlash reports whether a backslash separates like '/' in u: in
// a special scheme's URL and in a value without a scheme (WHATWG).
func (u *rawURL) backslashIsSlash() bool { return backslashIsSlash(u.scheme) }

// backslashIsSlash reports whether a backslash separates like '/' in a URL
// with that scheme ("" when it has none; see rawURL.backslashIsSlash).
func backslashIsSlash(scheme string) bool {
	return scheme == "" || specialScheme(scheme) != schemeNotSpecial
}

func isSlash(c byte) bool { return c == '/' || c == '\\' }

// trimSlashes drops the leading slashes and backslashes of s.
func trimSlashes(s string) string {
	for s != "" && isSlash(s[0]) {
		s = s[1:]
	}
	return s
}

const (
	schemeNotSpecial = iota
	schemeSpecial    // http, https, ws, wss, ftp
	schemeFile
)

// specialScheme classifies a scheme, in any case, as the WHATWG URL
// Standard does: http, https, ws, wss and ftp are special, file is
// special with its own rules, every other scheme is not.
func specialScheme(scheme string) int {
	var b [5]byte
	if len(scheme) > len(b) {
		return schemeNotSpecial
	}
	for i := 0; i < len(scheme); i++ {
		b[i] = lowerASCII(scheme[i])
	}
	switch string(b[:len(scheme)]) {
	case "http", "https", "ws", "wss", "ftp":
		return schemeSpecial
	case "file":
		return schemeFile
	}
	return schemeNotSpecial
}

// schemeEnd returns the length of the scheme when s starts with
// "scheme://" (RFC 3986 scheme characters), else -1.
func schemeEnd(s string) int {
	if i := schemeLen(s); i > 0 && strings.HasPrefix(s[i:], "://") {
		return i
	}
	return -1
}

// schemeLen returns the length of the scheme when s starts with
// "scheme:" (RFC 3986 scheme characters), else -1.
func schemeLen(s string) int {
	if len(s) == 0 || schemeChars[s[0]] != schemeLetter {
		return -1
	}
	// One table lookup per byte: a bare host of mixed letters and digits
	// would mispredict a branch per class change.
	for i := 1; i < len(s); i++ {
		switch schemeChars[s[i]] {
		case schemeLetter, schemeOther:
		case schemeColon:
			return i
		default:
			return -1
		}
	}
	return -1
}

// authoritySpecial marks the bytes splitURL looks for in an authority.
var authoritySpecial = [256]bool{'/': true, '\\': true, '?': true, '#': true, '@': true, ':': true,
	'\t': true, '\n': true, '\r': true}

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

// trimASCIISpace drops the C0 control characters (tabs and newlines among
// them) and spaces around s, as the WHATWG URL Standard does before it
// reads a URL.
func trimASCIISpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// isSpace reports whether c is a C0 control character or a space.
func isSpace(c byte) bool { return c <= ' ' }

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
//
// A host that is not in brackets is read as the WHATWG URL Standard's host
// parser reads a special URL's: its percent-escapes are decoded, IDN
// labels converted, and a name that ends in a number (its last label is
// all digits, or "0x" and hex digits) is an IPv4 address in any of the
// forms a browser accepts ("0x7f.1", "0177.0.0.1", "2130706433"), or no
// host at all when it is not one ("1.2.3.256", "example.0x1"). Most hosts
// are lower-case ASCII names whose last label starts with a letter: one
// pass over them, and one byte's test, tell so; the rest take the slow
// paths.
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
	// Most hosts are ASCII: one pass lower-cases and checks them; only a
	// host it refuses is looked at for escapes and non-ASCII bytes.
	start := len(dst)
	if out, last, ok := appendASCIIName(dst, h); ok {
		if c := out[len(out)-last]; c < '0' || c > '9' {
			// A last label that starts with anything but a digit is no
			// number ("0x…" starts with one).
			return out, addr, true
		}
		return asIPv4Host(out, start)
	}
	return appendHostSlow(dst, h)
}

// asIPv4Host reads dst[start:], a lower-case ASCII host name whose last
// label starts with a digit, as the WHATWG URL Standard does: when it ends
// in a number it is an IPv4 address, which replaces it, or no host at all
// (dst[:start] and false); otherwise it is a name and stays.
func asIPv4Host(dst []byte, start int) ([]byte, netip.Addr, bool) {
	name := dst[start:]
	if !hostEndsInNumber(name) {
		return dst, netip.Addr{}, true
	}
	a, ok := parseIPv4Host(name)
	if !ok {
		return dst[:start], a, false
	}
	return a.AppendTo(dst[:start]), a, true
}

// appendHostSlow is appendHostPart of a host, not in brackets, that
// appendASCIIName refused: one with percent-escapes, which are decoded
// first ("evil%2Ecom" is evil.com), with non-ASCII characters (the IDN
// path, which allocates), or an IPv4 address with a label too long for a
// name ("0x00…7f.1"). A host that decodes to a character no host name
// holds ("evil%2Fx", "%5B::1%5D") is none. Escapes are decoded into dst's
// spare capacity, where the host is then written: it allocates only when
// dst must grow.
func appendHostSlow(dst []byte, h string) ([]byte, netip.Addr, bool) {
	start := len(dst)
	name := h
	if strings.IndexByte(h, '%') < 0 {
		for i := 0; i < len(h); i++ {
			if h[i] >= 0x80 {
				return appendIDNHost(dst, h)
			}
		}
	} else {
		b := appendPercentDecoded(dst[start:start], h)
		for _, c := range b {
			if c >= 0x80 {
				if !utf8.Valid(b) {
					// A browser decodes a stray byte to U+FFFD, which
					// IDNA refuses.
					return dst, netip.Addr{}, false
				}
				return appendIDNHost(dst, string(b))
			}
		}
		// name shares dst's memory past start: appendASCIIName copies it
		// onto itself, and lower-cases it, which does not change what
		// parseIPv4Host reads.
		name = unsafe.String(unsafe.SliceData(b), len(b))
	}
	if out, last, ok := appendASCIIName(dst, name); ok {
		if c := out[len(out)-last]; c < '0' || c > '9' {
			return out, netip.Addr{}, true
		}
		return asIPv4Host(out, start)
	}
	// Not a valid name; maybe an address with labels too long for one.
	if hostEndsInNumber(name) {
		if a, ok := parseIPv4Host(name); ok {
			return a.AppendTo(dst), a, true
		}
	}
	return dst, netip.Addr{}, false
}

// appendPercentDecoded appends s to dst with its percent-escapes decoded
// (WHATWG percent-decode): "%" and two hex digits is the byte they spell,
// any other '%' is itself.
func appendPercentDecoded(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		dst = append(dst, c)
	}
	return dst
}

// hostEndsInNumber is the WHATWG URL Standard's ends-in-a-number checker
// for an ASCII host: its last label, after one trailing dot, is all
// digits, or "0x" (or "0X") and hex digits. Such a host is an IPv4
// address or invalid, never a name.
func hostEndsInNumber[S string | []byte](h S) bool {
	last := h
	if n := len(last); n > 0 && last[n-1] == '.' {
		last = last[:n-1]
	}
	for i := len(last) - 1; i >= 0; i-- {
		if last[i] == '.' {
			last = last[i+1:]
			break
		}
	}
	if len(last) == 0 {
		return false
	}
	_, ok := parseIPv4Number(last)
	if ok {
		return true
	}
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return false
		}
	}
	return true // all digits, though no number ("09": octal)
}

// parseIPv4Host is the WHATWG URL Standard's IPv4 parser: up to four
// dot-separated numbers (one trailing dot allowed), each decimal, octal
// with a leading "0" or hex after "0x"; all but the last at most 255, the
// last filling the bytes that remain ("127.1" is 127.0.0.1, "2130706433"
// 127.0.0.1 too). It does not allocate.
func parseIPv4Host[S string | []byte](h S) (netip.Addr, bool) {
	if n := len(h); n > 0 && h[n-1] == '.' {
		h = h[:n-1]
	}
	var nums [4]uint64
	n := 0
	for start := 0; ; {
		end := start
		for end < len(h) && h[end] != '.' {
			end++
		}
		if n == len(nums) {
			return netip.Addr{}, false // more than four parts
		}
		v, ok := parseIPv4Number(h[start:end])
		if !ok {
			return netip.Addr{}, false
		}
		nums[n] = v
		n++
		if end == len(h) {
			break
		}
		start = end + 1
	}
	for _, v := range nums[:n-1] {
		if v > 255 {
			return netip.Addr{}, false
		}
	}
	v := nums[n-1]
	if v >= 1<<(8*(5-n)) {
		return netip.Addr{}, false
	}
	for i, x := range nums[:n-1] {
		v += x << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// parseIPv4Number is the WHATWG URL Standard's IPv4 number parser: a
// non-empty decimal number, an octal one after a leading "0", or a hex
// one after "0x" or "0X" ("0x" alone is 0). A value above 2^32 comes back
// as 2^32, which no part of an address may be.
func parseIPv4Number[S string | []byte](s S) (uint64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		s, base = s[2:], 16
	case len(s) >= 2 && s[0] == '0':
		s, base = s[1:], 8
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d uint64
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		v = min(v*base+d, 1<<32)
	}
	return v, true
}

// digitsAndDots reports whether s is non-empty and holds only digits and
// dots.
func digitsAndDots(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// appendIDNHost converts a non-ASCII host to punycode (UTS #46 lookup
// profile) and validates the result as an ASCII host; one that ends in a
// number is an IPv4 address ("０ｘ７ｆ．１", in full-width characters, is
// 127.0.0.1) or invalid, as for an ASCII host. A last label "xn--", which
// decodes to nothing, is invalid too ("évil.com.xn--" is not évil.com).
// It allocates.
func appendIDNHost(dst []byte, h string) ([]byte, netip.Addr, bool) {
	a, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return dst, netip.Addr{}, false
	}
	if strings.HasSuffix(a, ".") && emptyACELabelLast(h) {
		return dst, netip.Addr{}, false
	}
	for i := 0; i < len(a); i++ {
		if a[i] >= 0x80 {
			return dst, netip.Addr{}, false
		}
	}
	if hostEndsInNumber(a) {
		// Full-width digits and dots map to an IPv4 address; its one
		// trailing dot goes, as an ASCII one's does (IDNA keeps it, and
		// turns a full-width or ideographic one into it).
		ip, ok := parseIPv4Host(a)
		if !ok {
			return dst, netip.Addr{}, false
		}
		return ip.AppendTo(dst), ip, true
	}
	out, ok := appendASCIIHost(dst, a)
	return out, netip.Addr{}, ok
}

// emptyACELabelLast reports whether the last label of h, a host that
// idna.Lookup converts to a name ending in an empty label, is an ACE label
// with nothing after its "xn--" (in any case or width, with characters
// IDNA drops in it), rather than one IDNA's mapping empties (a soft hyphen
// alone) or none at all (a trailing dot).
//
// UTS #46 (since Unicode 15.1) makes an "xn--" label that decodes to
// nothing an error, and the WHATWG URL Standard, so a browser, refuses the
// host; golang.org/x/net/idna leaves the label empty instead, and the
// host would be read as the name without it, its trailing dot dropped. A
// label that mapping empties is no error with the Standard's settings (it
// does not verify DNS lengths): last, it is the root's empty label.
//
// The idna package does not say which it was; a letter after h tells
// them apart: the mapped last label is then "a", a valid label, or "xn--a",
// which decodes to U+0080 and which idna refuses.
func emptyACELabelLast(h string) bool {
	_, err := idna.Lookup.ToASCII(h + "a")
	return err != nil
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
	out, _, ok := appendASCIIName(dst, h)
	return out, ok
}

// appendASCIIName is appendASCIIHost, and also returns the length of the
// last label (at least 1 when ok).
func appendASCIIName(dst []byte, h string) (_ []byte, last int, ok bool) {
	if strings.HasSuffix(h, ".") {
		h = h[:len(h)-1]
	}
	if h == "" || len(h) > 253 {
		return dst, 0, false
	}
	start := len(dst)
	dst = append(dst, h...)
	out := dst[start:]
	label := 0
	for i := 0; i < len(out); i++ {
		c := hostByte[out[i]]
		switch c {
		case 0:
			return dst[:start], 0, false
		case '.':
			if label == 0 {
				return dst[:start], 0, false
			}
			label = 0
			continue
		}
		out[i] = c
		label++
		if label > 63 {
			return dst[:start], 0, false
		}
	}
	if label == 0 {
		return dst[:start], 0, false
	}
	return dst, label, true
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

// appendURLParts appends the canonical URL of u (see NormalizeURL), with
// the last segment of its path kept as it is when openEnd (see
// appendPathQueryOf). u must satisfy isURL.
func appendURLParts(dst []byte, u *rawURL, openEnd bool) ([]byte, bool) {
	dst, _, _, _, ok := appendOrigin(dst, u)
	if !ok {
		return dst, false
	}
	return appendPathQueryOf(dst, u, openEnd), true
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
// empty path, "?query" unless the query is empty. The path is the one a
// client requests (the WHATWG URL Standard): a backslash is a slash where
// backslashIsSlash says so (in the query it is kept), and the dot
// segments are resolved: a segment "." (or "%2e", any case) goes, ".."
// (or ".%2e", "%2e.", "%2e%2e") goes with the segment before it, never
// above the root, and a trailing one leaves a trailing slash ("/a/b/.."
// is "/a/"). The ASCII tabs and newlines of the path and query are not
// there: when it finds one, appendPathQuery returns false, and the caller
// drops what it appended and calls appendPathQueryWithoutTabOrNewline
// (appendPathQueryOf does both).
func appendPathQuery(dst []byte, u *rawURL) ([]byte, bool) {
	return appendTailPathQuery(dst, u.scheme, u.tail, false)
}

// appendPathQueryOf is appendPathQuery; openEnd says that the path is the
// start of a longer one (the base of a URL prefix, which a '*' ended):
// its last segment, unless a query follows it, is then kept as it is,
// as the '*' continues it ("/a/.*" is every name under /a/ that starts
// with a dot, not /a/ itself).
//
// Most paths hold neither a backslash nor a dot segment: they are only
// escaped, and looked at once more, eight bytes at a time
// (pathNeedsResolving). A path or query with an ASCII tab or newline,
// which escaping finds, is written again without them, as the WHATWG URL
// Standard removes them before it reads a URL ("/.\t./" is "/../", "%2\te"
// is "%2e").
func appendPathQueryOf(dst []byte, u *rawURL, openEnd bool) []byte {
	out, ok := appendTailPathQuery(dst, u.scheme, u.tail, openEnd)
	if !ok {
		out = appendPathQueryWithoutTabOrNewline(dst, u.scheme, u.tail, openEnd)
	}
	return out
}

// appendTailPathQuery is appendPathQueryOf of a URL's scheme and tail,
// except that it returns false, and what it appended is to be dropped,
// when the path or query holds an ASCII tab or newline: the caller then
// calls appendPathQueryWithoutTabOrNewline. (Neither calls the other, so
// that escape analysis keeps the callers' buffers on the stack.)
func appendTailPathQuery(dst []byte, scheme, tail string, openEnd bool) ([]byte, bool) {
	path, query := splitPathQuery(tail)
	var saw uint8
	if path == "" {
		dst = append(dst, '/')
	} else {
		start := len(dst)
		dst, saw = appendEscapedOf(dst, path)
		if saw&escTabOrNewline == 0 && saw|pathNeedsResolving(path) != 0 {
			dst = resolvePath(dst, start, backslashIsSlash(scheme), openEnd && len(path) == len(tail))
		}
	}
	if query != "" {
		dst = append(dst, '?')
		var q uint8
		dst, q = appendEscapedOf(dst, query)
		saw |= q
	}
	return dst, saw&escTabOrNewline == 0
}

// appendPathQueryWithoutTabOrNewline is appendTailPathQuery of tail
// without its ASCII tabs and newlines. It allocates only for a tail over
// 128 bytes.
func appendPathQueryWithoutTabOrNewline(dst []byte, scheme, tail string, openEnd bool) []byte {
	var arr [128]byte
	out, _ := appendTailPathQuery(dst, scheme, withoutTabOrNewline(arr[:0], tail), openEnd)
	return out
}

// resolvePath resolves dst[start:], a path that appendEscapedOf wrote
// (it decoded "%2e" to '.', and left a backslash as it was and "%5C"
// escaped): backslashes become slashes when backslash is set (see
// backslashIsSlash), and the dot segments are resolved (resolveDots; with
// openEnd the last segment is kept).
func resolvePath(dst []byte, start int, backslash, openEnd bool) []byte {
	p := dst[start:]
	if backslash {
		for i, c := range p {
			if c == '\\' {
				p[i] = '/'
			}
		}
	}
	// In another scheme's path a backslash is a byte: resolveDots
	// resolves only the segments '/' separates.
	return dst[:start+resolveDots(p, openEnd)]
}

// pathNeedsResolving reports, as 1, whether path holds a backslash or a
// '.' right after a slash or backslash (a segment that may be a dot
// segment), else 0. It looks at eight bytes at a time without a branch
// on their values: a branch on every '.' (".php") costs more than the
// whole test.
func pathNeedsResolving(path string) uint8 {
	const ones = 0x0101010101010101
	var found, carry uint64
	n := len(path)
	for i := 0; i < n; i += 8 {
		// Bytes of the path, the first in the low byte; carry is 0x80
		// when the byte before them is a slash or backslash.
		var w uint64
		switch {
		case i+8 <= n:
			w = load64(path[i:])
		case n >= 8:
			// The last eight bytes, which overlap the word before: the
			// pair across their first byte was looked at in it.
			w, carry = load64(path[n-8:]), 0
		default:
			for j := n - 1; j >= 0; j-- {
				w = w<<8 | uint64(path[j])
			}
		}
		backslash := bytesEqual(w, ones*'\\')
		sep := bytesEqual(w, ones*'/') | backslash
		found |= backslash | bytesEqual(w, ones*'.')&(sep<<8|carry)
		carry = sep >> 56
	}
	if found != 0 {
		return 1
	}
	return 0
}

// load64 returns the first eight bytes of s (at least eight long), the
// first in the low byte.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// bytesEqual returns the high bit of each byte of w set where that byte
// equals the byte of x (x holds one byte value eight times), and every
// other bit clear.
func bytesEqual(w, x uint64) uint64 {
	const low7 = 0x7f7f7f7f7f7f7f7f
	t := w ^ x // zero bytes where equal
	return ^(t&low7 + low7 | t | low7)
}

// resolveDots resolves the dot segments of p, a path that starts with '/'
// and whose separators are '/', in place, and returns its new length (at
// least 1). With openEnd its last segment is kept as it is.
func resolveDots(p []byte, openEnd bool) int {
	w := 0 // p[:w] is the result so far: "/segment" for each segment kept
	for r := 0; r < len(p); {
		e := r + 1 // p[r] is '/'; the segment is p[r+1:e]
		for e < len(p) && p[e] != '/' {
			e++
		}
		seg, last := p[r+1:e], e == len(p)
		dots := 0
		if !(last && openEnd) {
			switch string(seg) {
			case ".":
				dots = 1
			case "..":
				dots = 2
			}
		}
		if dots == 2 && w > 0 {
			w = bytes.LastIndexByte(p[:w], '/')
		}
		switch {
		case dots == 0:
			w += copy(p[w:], p[r:e])
		case last:
			// A trailing dot segment leaves an empty last segment.
			p[w] = '/'
			w++
		}
		r = e
	}
	return w
}

// escClass classifies path and query bytes for appendEscapedOf: 0 copies,
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
// non-ASCII bytes encoded; ASCII tabs and newlines are removed first, as
// NormalizeURL removes them. The result is ASCII and appendEscaped leaves
// it unchanged.
func appendEscaped(dst []byte, s string) []byte {
	out, saw := appendEscapedOf(dst, s)
	if saw&escTabOrNewline != 0 {
		var arr [128]byte
		out, _ = appendEscapedOf(dst, withoutTabOrNewline(arr[:0], s))
	}
	return out
}

// What appendEscapedOf saw.
const (
	// escDotAfterSlash: a "%2e" decoded right after a slash or backslash
	// (a segment of a path that may be a dot segment).
	escDotAfterSlash = 1 << iota
	// escTabOrNewline: an ASCII tab or newline, which it encoded, but which
	// the caller must remove before escaping (a tab may split an escape).
	escTabOrNewline
)

// appendEscapedOf is appendEscaped without the removal of tabs and
// newlines, and also returns what it saw (escDotAfterSlash,
// escTabOrNewline).
func appendEscapedOf(dst []byte, s string) (_ []byte, saw uint8) {
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
			if isTabOrNewline(c) {
				saw |= escTabOrNewline
			}
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
			s = s[i+1:]
		case i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			if v := unhex(s[i+1])<<4 | unhex(s[i+2]); isUnreserved(v) {
				if n := len(dst); v == '.' && n > 0 && (dst[n-1] == '/' || dst[n-1] == '\\') {
					saw |= escDotAfterSlash
				}
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
	return dst, saw
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
