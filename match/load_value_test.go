package match

import (
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseValue(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		kind  Kind
		value string // canonical; for errors, a substring of the message
	}{
		{"an IPv4 address is an ip", "198.51.100.7", KindIP, "198.51.100.7"},
		{"surrounding spaces are trimmed", "  198.51.100.7\t", KindIP, "198.51.100.7"},
		{"an IPv6 address is written in its canonical short form", "2001:0DB8:0000::0001", KindIP, "2001:db8::1"},
		{"an IPv4-mapped IPv6 address is unmapped", "::ffff:198.51.100.7", KindIP, "198.51.100.7"},
		{"a bracketed IPv6 address loses its brackets", "[2001:db8::1]", KindIP, "2001:db8::1"},
		{"an address with a port keeps only the address", "198.51.100.7:443", KindIP, "198.51.100.7"},
		{"a bracketed IPv6 address with a port keeps only the address", "[2001:db8::1]:443", KindIP, "2001:db8::1"},
		{"an IPv4 prefix is masked", "198.51.100.77/24", KindCIDR, "198.51.100.0/24"},
		{"an IPv6 prefix is masked", "2001:db8:1:2::/32", KindCIDR, "2001:db8::/32"},
		{"a /32 prefix is an ip", "198.51.100.7/32", KindIP, "198.51.100.7"},
		{"a /128 prefix is an ip", "2001:db8::7/128", KindIP, "2001:db8::7"},
		{"an IPv4-mapped prefix becomes an IPv4 prefix", "::ffff:198.51.100.0/120", KindCIDR, "198.51.100.0/24"},
		{"a domain is lower-cased without its trailing dot", "Evil.Example.", KindDomain, "evil.example"},
		{"a leading wildcard label is dropped from a domain", "*.evil.example", KindDomain, "evil.example"},
		{"a domain with a port keeps only the domain", "evil.example:8080", KindDomain, "evil.example"},
		{"an IDN domain becomes punycode", "Bücher.example", KindDomain, "xn--bcher-kva.example"},
		{"a punycode domain stays as it is", "xn--bcher-kva.example", KindDomain, "xn--bcher-kva.example"},
		{"an underscore is allowed in a domain label", "my_host.dyn.example", KindDomain, "my_host.dyn.example"},
		{"a URL keeps its path and query but lower-cases scheme and host", "HTTPS://Files.Example/Stage2.BIN?Id=7", KindURL, "https://files.example/Stage2.BIN?Id=7"},
		{"a URL with an IDN host gets a punycode host", "http://bücher.example/x", KindURL, "http://xn--bcher-kva.example/x"},
		{"a URL with an IPv4 host and port", "http://198.51.100.23:8080/bins/mips", KindURL, "http://198.51.100.23:8080/bins/mips"},
		{"a URL with a mapped IPv6 host is unmapped", "http://[::ffff:198.51.100.23]/x", KindURL, "http://198.51.100.23/x"},
		{"a URL with an IPv6 host keeps its brackets", "http://[2001:DB8::7]:8080/x", KindURL, "http://[2001:db8::7]:8080/x"},
		{"a URL keeps its userinfo", "ftp://user:pw@Files.Example/a", KindURL, "ftp://user:pw@files.example/a"},
		{"a host followed by a slash is a URL without a scheme", "Evil.Example/gate.php", KindURL, "evil.example/gate.php"},
		{"a host followed by a query is a URL", "evil.example?id=1", KindURL, "evil.example?id=1"},
		{"a star after the host is kept as a prefix marker", "https://evil.example/kits/*", KindURL, "https://evil.example/kits/*"},
		{"a star right after the host means every URL on it", "http://Evil.Example*", KindURL, "http://evil.example/*"},
		{"also after a port", "http://evil.example:8080*", KindURL, "http://evil.example:8080/*"},
		{"a star inside the path is kept", "https://evil.example/*/gate", KindURL, "https://evil.example/*/gate"},
		{"hxxp and [.] defanging is undone", "hxxps://evil[.]example/login", KindURL, "https://evil.example/login"},
		{"a defanged address is refanged", "198[.]51[.]100[.]7", KindIP, "198.51.100.7"},
		{"a defanged domain with (.) is refanged", "evil(.)example", KindDomain, "evil.example"},
		{"an empty value is an error", "   ", KindInvalid, "empty value"},
		{"a host that is not valid UTF-8 is an error, not U+FFFD in punycode", "\xff\xfe\xfd.example", KindInvalid, "host is not valid UTF-8"},
		{"so is a URL's", "http://\xff\xfe.example/x", KindInvalid, "host is not valid UTF-8"},
		{"a prefix length out of range is an error, not a URL", "198.51.100.0/33", KindInvalid, "invalid prefix"},
		{"an address with a zone is an error", "fe80::1%eth0", KindInvalid, "zone"},
		{"an address with a bad octet is an error", "256.1.1.1", KindInvalid, "last label is all digits"},
		{"a truncated address is an error", "107.183.86", KindInvalid, "last label is all digits"},
		{"a value with inner whitespace is an error", "evil example", KindInvalid, "whitespace"},
		{"so is a prefix followed by a comment, not a URL", "203.0.113.0/24 ; SBL1", KindInvalid, "inline comment"},
		{"and a URL without a scheme with a space", "evil.example/a b", KindInvalid, "needs its scheme"},
		{"a URL with its scheme may hold a space", "http://evil.example/a b", KindURL, "http://evil.example/a b"},
		{"an empty label is an error", "evil..example", KindInvalid, "empty label"},
		{"a label over 63 characters is an error", strings.Repeat("a", 64) + ".example", KindInvalid, "longer than 63"},
		{"a name over 253 characters is an error", strings.Repeat("abcdefgh.", 29) + "example", KindInvalid, "longer than 253"},
		{"a wildcard host in a URL is an error", "http://*.evil.example/", KindInvalid, "wildcard"},
		{"so is a star inside the host", "http://evil*.example", KindInvalid, "wildcard"},
		{"and a host that is only a star", "http://*", KindInvalid, "wildcard"},
		{"a URL without a host is an error", "http:///", KindInvalid, "without a host"},
		{"a file URL without a host is an error", "file:///x", KindInvalid, "without a host"},
		{"extra slashes before a special scheme's host are skipped", "http:///x.example/a", KindURL, "http://x.example/a"},
		{"a URL with a bad port is an error", "http://evil.example:99999/", KindInvalid, "invalid port"},
		{"a domain with a bad port is an error", "evil.example:http", KindInvalid, "invalid port"},
		{"a path without a host is an error", "/usr/bin/x", KindInvalid, "URL without a host"},
		{"a Windows path is an error", `C:\Windows\evil.exe`, KindInvalid, "invalid"},
		{"an unclosed bracket is an error", "[2001:db8::1", KindInvalid, "unclosed"},
		{"an invalid IDN is an error", "xn--a.bücher.example", KindInvalid, "international"},
		{"a host that normalises to an address makes a prefix of host/n", "\ufeff1.0.0.0/0", KindCIDR, "0.0.0.0/0"},
		{"a name that normalises to an address is an ip", "\u200b198.51.100.7", KindIP, "198.51.100.7"},
		{"a URL on such a host stays a URL", "\u200b198.51.100.7/gate.php", KindURL, "198.51.100.7/gate.php"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, value, err := ParseValue(tt.in)
			if tt.kind == KindInvalid {
				if err == nil {
					t.Fatalf("ParseValue(%q) = %s %q, want an error containing %q", tt.in, kind, value, tt.value)
				}
				if !strings.Contains(err.Error(), tt.value) {
					t.Fatalf("ParseValue(%q) error = %q, want it to contain %q", tt.in, err, tt.value)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseValue(%q) error: %v", tt.in, err)
			}
			if kind != tt.kind || value != tt.value {
				t.Fatalf("ParseValue(%q) = %s %q, want %s %q", tt.in, kind, value, tt.kind, tt.value)
			}
		})
	}
}

func TestParseAsChecksTheDeclaredKind(t *testing.T) {
	tests := []struct {
		name  string
		want  Kind
		in    string
		kind  Kind
		value string
		err   string
	}{
		{"an ip kind accepts a prefix", KindIP, "198.51.100.0/24", KindCIDR, "198.51.100.0/24", ""},
		{"an ip kind refuses a domain", KindIP, "evil.example", KindInvalid, "", "not an IP address or prefix"},
		{"a domain kind accepts an address, as an ip", KindDomain, "198.51.100.7", KindIP, "198.51.100.7", ""},
		{"a domain kind refuses a URL", KindDomain, "http://evil.example/x", KindInvalid, "", "not a domain"},
		{"a url kind takes a bare host under a known TLD as a domain", KindURL, "www.evil.top", KindDomain, "www.evil.top", ""},
		{"a url kind takes a bare host under .example as a domain", KindURL, "c2.bad.example", KindDomain, "c2.bad.example", ""},
		{"a url kind refuses a file name", KindURL, "igfxtray.exe", KindInvalid, "", "not a URL"},
		{"a url kind takes an address as an ip", KindURL, "198.51.100.7", KindIP, "198.51.100.7", ""},
		{"a pattern is lower-cased and kept as it is", KindPattern, " /WP-Content/Evil ", KindPattern, "/wp-content/evil", ""},
		{"an empty pattern is an error", KindPattern, "  ", KindInvalid, "", "empty"},
		{"no declared kind detects it", KindInvalid, "evil.example", KindDomain, "evil.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, value, err := ldParseAs(tt.want, tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ldParseAs(%s, %q) = %s %q, %v; want an error containing %q", tt.want, tt.in, kind, value, err, tt.err)
				}
				return
			}
			if err != nil || kind != tt.kind || value != tt.value {
				t.Fatalf("ldParseAs(%s, %q) = %s %q, %v; want %s %q", tt.want, tt.in, kind, value, err, tt.kind, tt.value)
			}
		})
	}
}

// FuzzParseValue checks that ParseValue never panics, that its canonical
// form is a fixed point (parsing it again gives the same kind and value),
// and that each kind's value has the shape its consumers rely on.
func FuzzParseValue(f *testing.F) {
	// Addresses and prefixes, including IPv4-mapped and zoned forms.
	f.Add("198.51.100.7")
	f.Add("::ffff:198.51.100.7")
	f.Add("2001:db8::1")
	f.Add("fe80::1%eth0")
	f.Add("198.51.100.77/24")
	f.Add("::ffff:198.51.100.0/120")
	// Hosts with ports and brackets.
	f.Add("[2001:db8::1]:443")
	f.Add("evil.example:8080")
	// Domains: case, IDN, trailing dot, wildcard, underscores.
	f.Add("Evil.Example.")
	f.Add("*.bücher.example")
	f.Add("my_host.dyn.example")
	// URLs, defanged, without scheme, with a prefix star.
	f.Add("hxxps://evil[.]example/a?b#c")
	f.Add("evil.example/gate.php")
	f.Add("http://[::ffff:198.51.100.23]:8080/*")
	f.Add("ftp://u:p@Host.Example/")
	// Backslashes, which end a special URL's host as a slash does.
	f.Add(`http://evil.example\@good.example/a\b?c\d`)
	f.Add(`http://[::1\@good.example/`)
	f.Add(`Evil.Example\@good.example/x`)
	f.Add(`foo://a\@evil.example/`)
	f.Add(`HTTP:\\Evil.Example\a\*`)
	f.Add("ftp:///evil.example/x")
	f.Add(`evil.example\x#frag`)
	// Hosts a browser reads otherwise: a special scheme without slashes,
	// escapes, IPv4 addresses in other forms, names that end in a number.
	f.Add("http:evil.example/x")
	f.Add("http://evil%2Eexample/x")
	f.Add("http://0xcb.0.0x71.7/*")
	f.Add("http://3405803783:8080/x")
	f.Add("http://1.2.3.256/")
	f.Add("c2.0x1f")
	f.Add("0x7f.0.0.1/x")
	// Junk seen in real feeds.
	f.Add("107.183.86")
	f.Add("domain autuo.xicp.net")
	f.Add("Data/dtl.dat")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		kind, value, err := ParseValue(s)
		if err != nil {
			if kind != KindInvalid || value != "" {
				t.Fatalf("ParseValue(%q) failed with %v but returned %s %q", s, err, kind, value)
			}
			return
		}
		k2, v2, err := ParseValue(value)
		if err != nil || k2 != kind || v2 != value {
			t.Fatalf("ParseValue(%q) = %s %q, but ParseValue of that = %s %q, %v", s, kind, value, k2, v2, err)
		}
		switch kind {
		case KindIP:
			a, err := netip.ParseAddr(value)
			if err != nil || a.Is4In6() || a.Zone() != "" || a.String() != value {
				t.Fatalf("ParseValue(%q) gave a non-canonical ip %q", s, value)
			}
		case KindCIDR:
			p, err := netip.ParsePrefix(value)
			if err != nil || p != p.Masked() || p.IsSingleIP() || p.String() != value {
				t.Fatalf("ParseValue(%q) gave a non-canonical cidr %q", s, value)
			}
		case KindDomain:
			if value != strings.ToLower(value) || strings.HasSuffix(value, ".") || !utf8.ValidString(value) {
				t.Fatalf("ParseValue(%q) gave a non-canonical domain %q", s, value)
			}
			for i := 0; i < len(value); i++ {
				if value[i] >= 0x80 {
					t.Fatalf("ParseValue(%q) gave a non-ASCII domain %q", s, value)
				}
			}
			if _, ok := NormalizeHost(value); !ok {
				t.Fatalf("ParseValue(%q) gave domain %q, which NormalizeHost refuses", s, value)
			}
		case KindURL:
			if _, ok := NormalizeURL(strings.TrimSuffix(value, "*")); !ok {
				t.Fatalf("ParseValue(%q) gave URL %q, which NormalizeURL refuses", s, value)
			}
		default:
			t.Fatalf("ParseValue(%q) gave kind %s", s, kind)
		}
	})
}
