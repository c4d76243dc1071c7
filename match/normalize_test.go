package match

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means ok is false
	}{
		{"a bare host is lower-cased", "EVIL.com", "evil.com"},
		{"one trailing dot is dropped", "evil.com.", "evil.com"},
		{"the port is dropped", "evil.com:8080", "evil.com"},
		{"userinfo is dropped", "user:pw@evil.com", "evil.com"},
		{"scheme, port, path, query and fragment are dropped", "http://EVIL.com:8080/x?y=1#z", "evil.com"},
		{"a host with a path and no scheme keeps only the host", "evil.com/path/a.php", "evil.com"},
		{"a scheme-relative URL gives its host", "//evil.com/x", "evil.com"},
		{"surrounding spaces are trimmed", "  evil.com\r\n", "evil.com"},
		{"underscores are allowed in labels", "_dmarc.Example.org", "_dmarc.example.org"},
		{"an IDN host becomes punycode", "bücher.example", "xn--bcher-kva.example"},
		{"an IDN host in upper case becomes punycode", "http://BÜCHER.example/x", "xn--bcher-kva.example"},
		{"a punycode host stays as it is", "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"an IPv4 literal with a port gives the address", "http://203.0.113.7:8080/x", "203.0.113.7"},
		{"an IPv6 literal in brackets gives the address", "[2001:DB8::1]", "2001:db8::1"},
		{"an IPv6 literal in brackets with a port gives the address", "https://[2001:db8:0::1]:443/", "2001:db8::1"},
		{"a bare IPv6 literal gives the address", "2001:db8::1", "2001:db8::1"},
		{"an IPv4-mapped IPv6 literal is unmapped", "[::ffff:198.51.100.7]", "198.51.100.7"},
		{"an IPv6 zone is dropped", "[fe80::1%eth0]", "fe80::1"},
		{"an IPv4 literal with a trailing dot is the address", "203.0.113.7.", "203.0.113.7"},
		{"an empty string has no host", "", ""},
		{"spaces only have no host", "   ", ""},
		{"a scheme without a host has no host", "http://", ""},
		{"a scheme and slashes without a host have no host", "http:///", ""},
		{"extra slashes before a special scheme's host are skipped", "http:///x", "x"},
		{"a path without a host has no host", "/x/y", ""},
		{"an empty label is refused", "evil..com", ""},
		{"a leading dot is refused", ".evil.com", ""},
		{"two trailing dots are refused", "evil.com..", ""},
		{"a space inside the host is refused", "evil com", ""},
		{"a star is refused", "*.evil.com", ""},
		{"a label of 64 characters is refused", strings.Repeat("a", 64) + ".com", ""},
		{"a label of 63 characters is accepted", strings.Repeat("a", 63) + ".com", strings.Repeat("a", 63) + ".com"},
		{"a name over 253 characters is refused", strings.Repeat("abcdefghi.", 26), ""},
		{"a port that is not a number is refused", "evil.com:http", ""},
		{"a port above 65535 is refused", "evil.com:65536", ""},
		{"an empty port is ignored", "evil.com:", "evil.com"},
		{"an unclosed bracket is refused", "[2001:db8::1", ""},
		{"junk after a bracket is refused", "[2001:db8::1]x", ""},
		{"a bracketed name is refused", "[evil.com]", ""},
		{"a bare IPv6 literal that does not parse is refused", "2001:db8:::1", ""},
		{"a non-ASCII host that IDNA refuses is refused", "a\u200db.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizeHost(tt.in)
			if tt.want == "" {
				if ok {
					t.Fatalf("NormalizeHost(%q) = %q, true; want ok false", tt.in, got)
				}
				return
			}
			if !ok || got != tt.want {
				t.Fatalf("NormalizeHost(%q) = %q, %v; want %q, true", tt.in, got, ok, tt.want)
			}
			b, ok := AppendHost([]byte("prefix:"), tt.in)
			if !ok || string(b) != "prefix:"+tt.want {
				t.Fatalf("AppendHost(%q) = %q, %v; want %q", tt.in, b, ok, "prefix:"+tt.want)
			}
		})
	}
}

func TestNormalizeURL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means ok is false
	}{
		{"scheme and host are lower-cased and path case is kept", "HTTP://EVIL.com/Gate.PHP", "http://evil.com/Gate.PHP"},
		{"an empty path becomes a slash", "http://evil.com", "http://evil.com/"},
		{"the http default port is dropped", "http://evil.com:80/x", "http://evil.com/x"},
		{"the https default port is dropped", "https://evil.com:443/x", "https://evil.com/x"},
		{"a port that is not the scheme's default is kept", "https://evil.com:80/x", "https://evil.com:80/x"},
		{"leading zeros of a port are dropped", "http://evil.com:08080/x", "http://evil.com:8080/x"},
		{"a port with leading zeros that is the default is dropped", "http://evil.com:0080/", "http://evil.com/"},
		{"the fragment is dropped", "http://evil.com/x#frag", "http://evil.com/x"},
		{"userinfo is dropped", "http://user:pw@evil.com/x", "http://evil.com/x"},
		{"the query is kept", "http://evil.com/x?a=1&B=2", "http://evil.com/x?a=1&B=2"},
		{"an empty query is dropped", "http://evil.com/x?", "http://evil.com/x"},
		{"a query without a path gets a slash", "http://evil.com?a=1", "http://evil.com/?a=1"},
		{"a URL without a scheme is taken as http", "evil.com/path", "http://evil.com/path"},
		{"a URL without a scheme keeps its port", "evil.com:8080/path", "http://evil.com:8080/path"},
		{"a scheme-relative URL is taken as http", "//evil.com/x", "http://evil.com/x"},
		{"a bare host is not a URL", "evil.com", ""},
		{"a bare host with a port is not a URL", "evil.com:8080", ""},
		{"a bare IP literal is not a URL", "203.0.113.7", ""},
		{"an IPv6 host is bracketed", "http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"},
		{"an IPv4-mapped host is unmapped", "http://[::ffff:203.0.113.7]/", "http://203.0.113.7/"},
		{"an IDN host becomes punycode", "https://bücher.example/Ä", "https://xn--bcher-kva.example/%C3%84"},
		{"escapes of unreserved characters are decoded", "http://evil.com/%7euser/%41", "http://evil.com/~user/A"},
		{"other escapes are upper-cased", "http://evil.com/a%2fb?q=%3d", "http://evil.com/a%2Fb?q=%3D"},
		{"a stray percent is escaped", "http://evil.com/100%", "http://evil.com/100%25"},
		{"a percent before non-hex is escaped", "http://evil.com/%zz", "http://evil.com/%25zz"},
		{"spaces inside the path are escaped", "http://evil.com/a b", "http://evil.com/a%20b"},
		{"other schemes are kept", "FTP://files.example:21/pub", "ftp://files.example/pub"},
		{"an unknown scheme keeps every port", "foo://evil.com:80/", "foo://evil.com:80/"},
		{"a URL with a bad host is refused", "http://evil..com/", ""},
		{"a URL with a bad port is refused", "http://evil.com:99999/", ""},
		{"a URL without a host is refused", "file:///etc/passwd", ""},
		{"an empty string is refused", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizeURL(tt.in)
			if tt.want == "" {
				if ok {
					t.Fatalf("NormalizeURL(%q) = %q, true; want ok false", tt.in, got)
				}
				return
			}
			if !ok || got != tt.want {
				t.Fatalf("NormalizeURL(%q) = %q, %v; want %q, true", tt.in, got, ok, tt.want)
			}
			b, ok := AppendURL([]byte("x"), tt.in)
			if !ok || string(b) != "x"+tt.want {
				t.Fatalf("AppendURL(%q) = %q, %v", tt.in, b, ok)
			}
		})
	}
}

func TestAppendFailureLeavesDstUnchanged(t *testing.T) {
	for _, in := range []string{"http://evil..com/", "evil.com:99999", "[::1"} {
		if b, ok := AppendURL([]byte("keep"), in); ok || string(b) != "keep" {
			t.Errorf("AppendURL(%q) = %q, %v; want \"keep\", false", in, b, ok)
		}
		if b, ok := AppendHost([]byte("keep"), in); ok || string(b) != "keep" {
			t.Errorf("AppendHost(%q) = %q, %v; want \"keep\", false", in, b, ok)
		}
	}
}

func TestAppendHostAndURLDoNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 256)
	n := testing.AllocsPerRun(100, func() {
		buf, _ = AppendHost(buf[:0], "http://User@WWW.Evil.example:8080/a/b?c#d")
		buf, _ = AppendURL(buf[:0], "HTTP://WWW.Evil.example:80/a/%7eb?c=%2f#d")
		buf, _ = AppendURL(buf[:0], "https://[2001:db8::1]:443/x")
	})
	if n != 0 {
		t.Fatalf("AppendHost/AppendURL allocate %v times per run; want 0", n)
	}
}

// normalizeSeeds are the seed corpus of both fuzz targets: the quirks of
// Defender's RemoteUrl and of indicator feeds.
var normalizeSeeds = []string{
	"evil.com",                           // bare host
	"EVIL.com.",                          // case and trailing dot
	"http://user:pw@EVIL.com:8080/x?y#z", // every part
	"evil.com/path",                      // URL without scheme
	"//evil.com",                         // scheme-relative
	"[2001:db8::1]:443",                  // bracketed IPv6 with port
	"2001:db8::1",                        // bare IPv6
	"::ffff:198.51.100.7",                // mapped IPv4
	"http://[fe80::1%25eth0]/",           // zone
	"bücher.example/ä?ö#ü",               // IDN and non-ASCII path
	"http://a/%%611%zz%7E%2f",            // percent edge cases
	"http://a/%",                         // trailing percent
	"https://evil.com:0443",              // default port with leading zero
	"evil.com:",                          // empty port
	"a.b.c.d.e.f.example:65535/",         // deep name, max port
	"HTTP://\u00a0x.example/",            // non-breaking space in host
	"1.2.3.4.",                           // IPv4 with trailing dot
	"xn--bcher-kva.example",              // punycode already
	"mailto:x@evil.com",                  // not scheme://
	"\x00\xff",                           // junk bytes
	// A backslash is a slash in special schemes and scheme-less values,
	// and dot segments are resolved (WHATWG).
	`http://evil.com\@good.com/`,            // host before the backslash
	`HTTP:\\evil.com\a\..\b?c\d#e\f`,        // backslashes after the colon
	`\\evil.com\share\.\x`,                  // scheme-relative
	`evil.com:8080\x\%2e%2E\`,               // scheme-less with escaped dots
	"https:////evil.com/a/./b/../../../c/.", // extra slashes, dots above the root
	"http://evil.com/..//x",                 // resolves to a path starting "//"
	"http://evil.com/a/.%2e/b/%2E./c",       // mixed escaped double dots
	`foo://a\b@evil.com/a\..\b/../c`,        // another scheme keeps backslashes
	`file:\\server\share\..\x`,              // file takes two
	`ws:/\evil.com`,                         // one slash, one backslash
	"http://x/?a=/../b\\c",                  // the query is no path
	// Tabs and newlines are removed from anywhere, C0 controls and spaces
	// around the value trimmed (WHATWG).
	"http://ev\til.com/a/.\t./b?%4\t1#\n", // host, dot segment, escape
	"/\t/evil.com\\x",                     // a scheme-relative URL
	"file:/\t/evil.com/x",                 // file's two slashes
	"\x00evil.com\r\n\x1f",                // C0 controls around a host
	"http:evil.com/x",                     // a special scheme without slashes
	"http://EVIL%2ecom%3a80/x",            // escapes in the host
	"http://0xcb.0.0x71.07:80/x",          // an IPv4 address in hex and octal
	"http://203.28935./",                  // in two parts, a trailing dot
	"http://1.2.3.256/",                   // a number out of range
}

func FuzzNormalizeHost(f *testing.F) {
	for _, s := range normalizeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := NormalizeHost(s)
		// Tabs and newlines are not there (WHATWG).
		if c := withoutTabOrNewline(nil, s); c != s {
			if hc, okc := NormalizeHost(c); okc != ok || hc != h {
				t.Fatalf("NormalizeHost(%q) = %q, %v, but without its tabs and newlines %q, %v", s, h, ok, hc, okc)
			}
		}
		if !ok {
			return
		}
		h2, ok2 := NormalizeHost(h)
		if !ok2 || h2 != h {
			t.Fatalf("NormalizeHost(%q) = %q, but NormalizeHost(%q) = %q, %v", s, h, h, h2, ok2)
		}
		if h == "" || h != strings.ToLower(h) {
			t.Fatalf("NormalizeHost(%q) = %q: empty or not lower-case", s, h)
		}
		for i := 0; i < len(h); i++ {
			if h[i] >= 0x80 {
				t.Fatalf("NormalizeHost(%q) = %q: not ASCII", s, h)
			}
		}
	})
}

func FuzzNormalizeURL(f *testing.F) {
	for _, s := range normalizeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := NormalizeURL(s)
		// Tabs and newlines are not there (WHATWG): without them s
		// normalises alike, or not at all alike.
		if c := withoutTabOrNewline(nil, s); c != s {
			if uc, okc := NormalizeURL(c); okc != ok || uc != u {
				t.Fatalf("NormalizeURL(%q) = %q, %v, but without its tabs and newlines %q, %v", s, u, ok, uc, okc)
			}
		}
		if !ok {
			return
		}
		u2, ok2 := NormalizeURL(u)
		if !ok2 || u2 != u {
			t.Fatalf("NormalizeURL(%q) = %q, but NormalizeURL(%q) = %q, %v", s, u, u, u2, ok2)
		}
		h, okh := NormalizeHost(s)
		if !okh {
			t.Fatalf("NormalizeURL(%q) = %q but NormalizeHost refuses it", s, u)
		}
		if uh, ok := NormalizeHost(u); !ok || uh != h {
			t.Fatalf("host of NormalizeURL(%q) = %q is %q, %v; NormalizeHost gives %q", s, u, uh, ok, h)
		}
		for i := 0; i < len(u); i++ {
			if u[i] <= ' ' || u[i] >= 0x7f {
				t.Fatalf("NormalizeURL(%q) = %q holds byte %#x", s, u, u[i])
			}
		}
		// The path is what a client requests: no dot segment, and in a
		// special scheme no backslash.
		scheme, _, _ := strings.Cut(u, "://")
		path := u[originEnd(u):]
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if specialScheme(scheme) != schemeNotSpecial && strings.IndexByte(path, '\\') >= 0 {
			t.Fatalf("NormalizeURL(%q) = %q keeps a backslash in its path", s, u)
		}
		for _, seg := range strings.Split(path, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("NormalizeURL(%q) = %q keeps a dot segment", s, u)
			}
		}
		// The matcher looks an IP-literal host up in the IP index: the
		// host is taken for an address exactly when its canonical text is
		// one, however it was written.
		var raw rawURL
		if !splitURL(s, &raw) && raw.tabOrNewline {
			splitURLWithoutTabOrNewline(s, &raw)
		}
		_, _, _, addr, _ := appendOrigin(nil, &raw)
		if want, err := netip.ParseAddr(h); addr.IsValid() != (err == nil) || addr.IsValid() && addr != want {
			t.Fatalf("the host of NormalizeURL(%q) = %q is taken for the address %v; its canonical text %q parses as %v (%v)", s, u, addr, h, want, err)
		}
	})
}

// An IPv4 host is an address for matching however it is written: with a
// trailing dot, in full-width digits or dots, or with a character IDNA
// drops (a soft hyphen, a byte-order mark). A trailing dot after IDNA
// mapping was kept when the host was parsed, so such a host became the
// host name "203.0.113.7" and escaped the IP indicators.
func TestAnIPv4HostIsAnAddressHoweverItIsWritten(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the address; "" when the host is a name; "refused" when it is refused
	}{
		{"ASCII", "http://203.0.113.7/x", "203.0.113.7"},
		{"ASCII with a trailing dot", "http://203.0.113.7./x", "203.0.113.7"},
		{"full-width digits", "http://\uff12\uff10\uff13.\uff10.\uff11\uff11\uff13.\uff17/x", "203.0.113.7"},
		{"full-width digits and dots, a trailing one", "http://\uff12\uff10\uff13\uff0e0\uff0e113\uff0e7\uff0e/x", "203.0.113.7"},
		{"a trailing dot and a soft hyphen", "http://203.0.113.7.\u00ad/x", "203.0.113.7"},
		{"a byte-order mark and a trailing dot", "http://\ufeff203.0.113.7./x", "203.0.113.7"},
		{"an ideographic full stop at the end", "http://203.0.113.7\u3002/x", "203.0.113.7"},
		{"a bare host with a soft hyphen and a trailing dot", "203.0.113.7.\u00ad", "203.0.113.7"},
		{"a leading zero is octal, as in ASCII", "http://203.0.113.07.\u00ad/x", "203.0.113.7"},
		{"a leading zero before an 8 is refused, as in ASCII", "http://203.0.113.08.\u00ad/x", "refused"},
		{"two trailing dots are refused, as in ASCII", "http://203.0.113.7..\u00ad/x", "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u rawURL
			if !splitURL(tt.in, &u) {
				t.Fatalf("splitURL(%q) refused it", tt.in)
			}
			host, addr, ok := appendHostPart(nil, &u)
			switch {
			case tt.want == "refused":
				if ok {
					t.Fatalf("host of %q = %q, want it refused", tt.in, host)
				}
			case !ok:
				t.Fatalf("host of %q refused", tt.in)
			case tt.want == "" && addr.IsValid():
				t.Fatalf("host of %q = %q, taken for the address %v; want a name", tt.in, host, addr)
			case tt.want != "" && (addr.String() != tt.want || string(host) != tt.want):
				t.Fatalf("host of %q = %q, address %v; want the address %s", tt.in, host, addr, tt.want)
			}
		})
	}
	// What the matcher does with it: an ip indicator matches the host.
	ix, err := Build([]*Indicator{mk("cidr 203.0.113.0/24")}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q := Query{RemoteIP: netip.MustParseAddr("198.51.100.1"), RemoteURL: "http://203.0.113.7.\u00ad/x"}
	if got := hitStrings(ix.Match(q, nil)); !slices.Equal(got, []string{"RemoteUrl.host cidr 203.0.113.0/24"}) {
		t.Errorf("Match(%+v) = %q, want the cidr on RemoteUrl.host", q, got)
	}
}

// TestSchemeEndTable compares schemeEnd with the branchy definition it
// replaced, over every short string of a small alphabet.
func TestSchemeEndTable(t *testing.T) {
	ref := func(s string) int {
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
			case i > 0 && c == ':':
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
	const alphabet = "aZ0+-.:/@\x80"
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		if got, want := schemeEnd(prefix), ref(prefix); got != want {
			t.Fatalf("schemeEnd(%q) = %d; want %d", prefix, got, want)
		}
		if n == 0 {
			return
		}
		for i := range len(alphabet) {
			gen(prefix+alphabet[i:i+1], n-1)
		}
	}
	gen("", 5)
	for _, s := range []string{"http://x", "HTTPS://x", "svn+ssh://x", "a.b-c://x", "1http://x", "http:/x", "http", "evil.com:80/x"} {
		if got, want := schemeEnd(s), ref(s); got != want {
			t.Fatalf("schemeEnd(%q) = %d; want %d", s, got, want)
		}
	}
}
