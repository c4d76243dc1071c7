package match

import (
	"net/netip"
	"strings"
	"testing"
)

// A RemoteUrl's host is the one a browser connects to (the WHATWG URL
// Standard): a special scheme needs no slash after its colon
// ("http:evil.com"), the host's percent-escapes are decoded
// ("evil%2Ecom"), and a host that ends in a number is an IPv4 address in
// any of the forms a browser reads ("0x7f.1", "0177.0.0.1",
// "2130706433"), or no host at all when it is none ("1.2.3.256"). Each
// used to leave a host that no domain, ip or cidr indicator could match:
// "http", a host with a '%', the name "0x7f.0.0.1".
func TestNormalizeReadsTheHostAsABrowserDoes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		host string // "" means NormalizeHost refuses it
		url  string // "" means NormalizeURL refuses it
	}{
		// A special scheme without any slash after its colon.
		{"http without slashes", "http:evil.com/x", "evil.com", "http://evil.com/x"},
		{"https without slashes and without a path", "https:evil.com", "evil.com", "https://evil.com/"},
		{"a special scheme without slashes in any case, with a port", "HTTP:Evil.com:8080/x", "evil.com", "http://evil.com:8080/x"},
		{"ws without slashes", "ws:evil.com", "evil.com", "ws://evil.com/"},
		{"a userinfo after a special scheme without slashes", "http:u@evil.com/x", "evil.com", "http://evil.com/x"},
		{"a special scheme and nothing else has no host", "http:", "", ""},
		{"file without slashes is a path", "file:evil.com/x", "", ""},
		{"another scheme without slashes is a host and a bad port", "foo:evil.com", "", ""},
		{"a bare host and a port stay so", "evil.com:8080", "evil.com", ""},
		// A special scheme's name, a colon and a port: a host and its
		// port, as a RemoteUrl without a scheme writes them, not a
		// scheme and the address 0.0.0.21 (a port-sized number is one in
		// 0.0.0.0/16, where no server is).
		{"ftp and a port are a host and a port", "ftp:21", "ftp", ""},
		{"ws and a port, then a path", "ws:8080/x", "ws", "http://ws:8080/x"},
		{"HTTP and a port, in capitals", "HTTP:80", "http", ""},
		{"https and a port, then a backslash", `https:443\x`, "https", "http://https:443/x"},
		{"a number over 65535 is no port: a host", "http:3405803783/x", "203.0.113.7", "http://203.0.113.7/x"},
		{"a number and more is no port: a host", "http:80.1/x", "80.0.0.1", "http://80.0.0.1/x"},
		{"a port's digits and a userinfo's '@' are a userinfo", "http:80@evil.com/x", "evil.com", "http://evil.com/x"},

		// Percent-escapes in the host.
		{"an escaped dot", "http://evil%2Ecom/", "evil.com", "http://evil.com/"},
		{"an escaped letter", "http://%65vil.com/x", "evil.com", "http://evil.com/x"},
		{"escapes in any case, letters lower-cased after decoding", "http://EVIL%2eCOM/", "evil.com", "http://evil.com/"},
		{"an escaped capital letter", "http://%45vil.com/", "evil.com", "http://evil.com/"},
		{"escaped UTF-8 is an IDN", "http://b%C3%BCcher.example/", "xn--bcher-kva.example", "http://xn--bcher-kva.example/"},
		{"escapes in a value without a scheme", "evil%2Ecom/x", "evil.com", "http://evil.com/x"},
		{"escapes after a userinfo and before a port", "http://u%40x@evil%2Ecom:8080/x", "evil.com", "http://evil.com:8080/x"},
		{"an escaped address", "http://203%2E0.113.7/", "203.0.113.7", "http://203.0.113.7/"},
		{"an escaped slash is no host", "http://evil%2Fcom/", "", ""},
		{"an escaped colon is no port", "http://evil.com%3A80/", "", ""},
		{"an escaped '@' is no userinfo", "http://good.com%40evil.com/", "", ""},
		{"escaped brackets are no IPv6 literal", "http://%5B::1%5D/", "", ""},
		{"an escaped NUL is no host", "http://evil%00.com/", "", ""},
		{"an escaped space is no host", "http://evil%20com/", "", ""},
		{"a stray '%' is no host", "http://evil%.com/", "", ""},
		{"an escaped byte that is no UTF-8 is no host", "http://%FF.com/", "", ""},
		{"escapes are decoded once", "http://evil%252Ecom/", "", ""},
		{"escaped colons are no IPv6 literal", "http://2001%3Adb8%3A%3A1/", "", ""},

		// IPv4 addresses in a browser's other forms.
		{"hex", "http://0x7f.0.0.1/", "127.0.0.1", "http://127.0.0.1/"},
		{"hex in capitals", "http://0X7F.0X0.0.0X1/x", "127.0.0.1", "http://127.0.0.1/x"},
		{"octal", "http://0177.0.0.1/", "127.0.0.1", "http://127.0.0.1/"},
		{"a leading zero is octal", "http://203.0.113.07/", "203.0.113.7", "http://203.0.113.7/"},
		{"one number", "http://2130706433/", "127.0.0.1", "http://127.0.0.1/"},
		{"one hex number", "http://0x7f000001/", "127.0.0.1", "http://127.0.0.1/"},
		{"two parts", "http://127.1/", "127.0.0.1", "http://127.0.0.1/"},
		{"three parts, the last of two bytes", "http://192.168.257/", "192.168.1.1", "http://192.168.1.1/"},
		{"mixed forms", "http://0xc0.0250.1.1:8080/x", "192.168.1.1", "http://192.168.1.1:8080/x"},
		{"a trailing dot", "http://127.0.0.1./", "127.0.0.1", "http://127.0.0.1/"},
		{"a short form with a trailing dot", "http://0x7f.1./", "127.0.0.1", "http://127.0.0.1/"},
		{"0x alone is zero", "http://0x/", "0.0.0.0", "http://0.0.0.0/"},
		{"the largest number", "http://4294967295/", "255.255.255.255", "http://255.255.255.255/"},
		{"zeros beyond a label's length", "http://0x" + strings.Repeat("0", 70) + "7f.1/", "127.0.0.1", "http://127.0.0.1/"},
		{"escapes spelling a hex address", "http://%30x7f.1/", "127.0.0.1", "http://127.0.0.1/"},
		{"full-width hex", "http://\uff10\uff58\uff17\uff46\uff0e\uff11/", "127.0.0.1", "http://127.0.0.1/"},
		{"a bare host in hex", "0x7f.1", "127.0.0.1", ""},
		{"another scheme's host is read so too", "foo://0x7f.1/x", "127.0.0.1", "foo://127.0.0.1/x"},
		{"a last label that is no number keeps a name", "http://1.2.3.example/", "1.2.3.example", "http://1.2.3.example/"},
		{"a last label that starts with a digit keeps a name", "http://example.3com/", "example.3com", "http://example.3com/"},
		{"a last label of hex letters keeps a name", "http://0x7f.0.0.face/", "0x7f.0.0.face", "http://0x7f.0.0.face/"},
		{"a part over 255", "http://1.2.3.256/", "", ""},
		{"a first part over 255", "http://256.1/", "", ""},
		{"a number over 32 bits", "http://4294967296/", "", ""},
		{"five parts", "http://1.2.3.4.5/", "", ""},
		{"a leading zero before a digit that is not octal", "http://09.0.0.1/", "", ""},
		{"a bad hex digit", "http://0x1g.1/", "", ""},
		{"a name that ends in a number", "http://example.1/", "", ""},
		{"a name that ends in a hex number", "http://example.0x1/", "", ""},
		{"an empty part", "http://1..2/", "", ""},
		{"two trailing dots make no number", "http://203.0.113.7../", "", ""},
		{"two trailing dots, one escaped", "http://3405803783.%2E/", "", ""},
		{"a hex address in brackets is no IPv6 literal", "http://[0x7f.1]/", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, ok := NormalizeHost(tt.in)
			if tt.host == "" {
				if ok {
					t.Errorf("NormalizeHost(%q) = %q, true; want ok false", tt.in, host)
				}
			} else if !ok || host != tt.host {
				t.Errorf("NormalizeHost(%q) = %q, %v; want %q, true", tt.in, host, ok, tt.host)
			}
			u, ok := NormalizeURL(tt.in)
			if tt.url == "" {
				if ok {
					t.Errorf("NormalizeURL(%q) = %q, true; want ok false", tt.in, u)
				}
				return
			}
			if !ok || u != tt.url {
				t.Errorf("NormalizeURL(%q) = %q, %v; want %q, true", tt.in, u, ok, tt.url)
			}
			if again, ok := NormalizeURL(u); !ok || again != u {
				t.Errorf("NormalizeURL(%q) = %q, %v; want it unchanged", u, again, ok)
			}
		})
	}
}

// parseIPv4Host and hostEndsInNumber are the WHATWG IPv4 parser and
// ends-in-a-number checker: they must agree with the standard's steps
// written the plain way (strings.Split, a slice of numbers) on every host
// of up to six of the characters that matter, and on the edges of each
// part's range.
func TestParseIPv4HostAgreesWithTheStandard(t *testing.T) {
	number := func(s string) (uint64, bool) {
		if s == "" {
			return 0, false
		}
		base := uint64(10)
		if len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X") {
			s, base = s[2:], 16
		} else if len(s) >= 2 && s[0] == '0' {
			s, base = s[1:], 8
		}
		var v uint64
		for _, c := range s {
			d := uint64(strings.IndexRune("0123456789abcdef", c|0x20))
			if c >= '0' && c <= '9' {
				d = uint64(c - '0')
			}
			if d >= base || d == ^uint64(0) {
				return 0, false
			}
			if v = v*base + d; v > 1<<40 {
				v = 1 << 40
			}
		}
		return v, true
	}
	ref := func(h string) (netip.Addr, bool) {
		parts := strings.Split(h, ".")
		if parts[len(parts)-1] == "" && len(parts) > 1 {
			parts = parts[:len(parts)-1]
		}
		if len(parts) > 4 {
			return netip.Addr{}, false
		}
		var nums []uint64
		for _, p := range parts {
			n, ok := number(p)
			if !ok {
				return netip.Addr{}, false
			}
			nums = append(nums, n)
		}
		for _, n := range nums[:len(nums)-1] {
			if n > 255 {
				return netip.Addr{}, false
			}
		}
		last := nums[len(nums)-1]
		limit := uint64(1)
		for range 5 - len(nums) {
			limit *= 256
		}
		if last >= limit {
			return netip.Addr{}, false
		}
		v := last
		for i, n := range nums[:len(nums)-1] {
			for range 3 - i {
				n *= 256
			}
			v += n
		}
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
	}
	endsInNumber := func(h string) bool {
		parts := strings.Split(h, ".")
		if parts[len(parts)-1] == "" {
			if len(parts) == 1 {
				return false
			}
			parts = parts[:len(parts)-1]
		}
		last := parts[len(parts)-1]
		if last != "" && strings.Trim(last, "0123456789") == "" {
			return true
		}
		_, ok := number(last)
		return ok
	}
	check := func(h string) {
		got, gok := parseIPv4Host(h)
		want, wok := ref(h)
		if gok != wok || got != want {
			t.Fatalf("parseIPv4Host(%q) = %v, %v; want %v, %v", h, got, gok, want, wok)
		}
		if g, w := hostEndsInNumber(h), endsInNumber(h); g != w {
			t.Fatalf("hostEndsInNumber(%q) = %v; want %v", h, g, w)
		}
	}
	const alphabet = "019xX.f8"
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		check(prefix)
		if n == 0 {
			return
		}
		for i := range len(alphabet) {
			gen(prefix+alphabet[i:i+1], n-1)
		}
	}
	gen("", 6)
	for _, h := range []string{
		"4294967295", "4294967296", "0xffffffff", "0x100000000", "037777777777", "040000000000",
		"255.16777215", "255.16777216", "255.255.65535", "255.255.65536", "255.255.255.255", "255.255.255.256",
		"99999999999999999999999", "0x" + strings.Repeat("f", 30), "0X7F.0XA.0.1",
	} {
		check(h)
	}
}

// Every part of matching sees the host a browser connects to: a domain
// lookup, ip and cidr indicators (on the URL's host), URL indicators and
// prefixes on both sides.
func TestMatchReadsTheHostAsABrowserDoes(t *testing.T) {
	tests := []urlMatchCase{
		{"a domain fires on a special scheme without slashes", []string{"domain evil.com"}, "http:evil.com/x",
			[]string{"RemoteUrl domain evil.com"}},
		{"a domain fires on a host with an escaped dot", []string{"domain evil.com"}, "http://evil%2Ecom/x",
			[]string{"RemoteUrl domain evil.com"}},
		{"a domain fires on a host with an escaped letter", []string{"domain evil.com"}, "http://%65vil.com/",
			[]string{"RemoteUrl domain evil.com"}},
		{"a parent domain fires on a name whose first labels are numbers", []string{"domain evil.example"}, "http://1.2.3.evil.example/",
			[]string{"RemoteUrl domain evil.example"}},
		{"an ip fires on a hex host", []string{"ip 203.0.113.7"}, "http://0xcb.0.0x71.7/x",
			[]string{"RemoteUrl.host ip 203.0.113.7"}},
		{"an ip fires on an octal host", []string{"ip 203.0.113.7"}, "http://0313.0.0161.07/",
			[]string{"RemoteUrl.host ip 203.0.113.7"}},
		{"an ip fires on a host of one number", []string{"ip 203.0.113.7"}, "http://3405803783/",
			[]string{"RemoteUrl.host ip 203.0.113.7"}},
		{"an ip fires on a host of two parts", []string{"ip 127.0.0.1"}, "http://127.1/",
			[]string{"RemoteUrl.host ip 127.0.0.1"}},
		{"an ip fires on a host with a trailing dot", []string{"ip 203.0.113.7"}, "http://203.0.113.7./",
			[]string{"RemoteUrl.host ip 203.0.113.7"}},
		{"an ip fires on escapes that spell an address", []string{"ip 203.0.113.7"}, "http://%32%30%33.0.113.7/",
			[]string{"RemoteUrl.host ip 203.0.113.7"}},
		{"a cidr fires on a host of three parts", []string{"cidr 203.0.113.0/24"}, "203.0.28935:8080",
			[]string{"RemoteUrl.host cidr 203.0.113.0/24"}},
		{"a URL fires on a special scheme without slashes", []string{"url http://evil.com/x"}, "http:evil.com/x",
			[]string{"RemoteUrl url http://evil.com/x"}},
		{"a URL fires on a host with escapes", []string{"url http://evil.com/x"}, "http://EVIL%2eCOM/x",
			[]string{"RemoteUrl url http://evil.com/x"}},
		{"a URL on an address fires on its hex form", []string{"url http://203.0.113.7/gate"}, "http://0xcb007107/gate",
			[]string{"RemoteUrl url http://203.0.113.7/gate"}},
		{"a URL written in hex fires on the dotted form", []string{"url http://0xcb.0.0x71.7/gate"}, "http://203.0.113.7/gate",
			[]string{"RemoteUrl url http://0xcb.0.0x71.7/gate"}},
		{"a prefix fires on a special scheme without slashes", []string{"url http://evil.com/kits/*"}, "http:evil.com/kits/a",
			[]string{"RemoteUrl url http://evil.com/kits/*"}},
		{"a prefix on an address fires on its short form", []string{"url http://203.0.113.7/kits/*"}, "http://203.0.28935/kits/a",
			[]string{"RemoteUrl url http://203.0.113.7/kits/*"}},
		{"a number out of range is no host: a cidr does not fire", []string{"cidr 1.2.3.0/24"}, "http://1.2.3.256/", nil},
		{"a number out of range is no host: only patterns look", []string{"pattern 1.2.3.256"}, "http://1.2.3.256/",
			[]string{"RemoteUrl pattern 1.2.3.256"}},
		{"a host that decodes to a slash is no host", []string{"domain com.example", "pattern evil%2f"}, "http://evil%2Fcom.example/",
			[]string{"RemoteUrl pattern evil%2f"}},
	}
	runURLMatchCases(t, tests)

	// When the host in another form is RemoteIP, the hit is reported once,
	// on RemoteIP.
	ix, err := Build([]*Indicator{mk("ip 203.0.113.7")}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q := Query{RemoteIP: netip.MustParseAddr("203.0.113.7"), RemoteURL: "http://3405803783/"}
	if got := hitStrings(ix.Match(q, nil)); len(got) != 1 || got[0] != "RemoteIP ip 203.0.113.7" {
		t.Errorf("Match(%+v) = %q; want the ip once, on RemoteIP", q, got)
	}
}

// A domain indicator, and a remote_domain exclusion, whose name ends in a
// number is refused: a browser reads such a host as an IPv4 address or
// not at all, so the name never is one. "113.7" used to be the domain
// indicator 113.7, "c2.0x1f" a domain that no event's host could be.
func TestADomainThatEndsInANumberIsRefused(t *testing.T) {
	for _, tt := range []struct{ value, err string }{
		{"113.7", `is an IP address: use kind ip and the value "113.0.0.7"`},
		{"0x7f.1", `is an IP address: use kind ip and the value "127.0.0.1"`},
		{"1.2.3.256", "not a valid host name"},
		{"c2.0x1f", "not a valid host name"},
		{"example.1", "not a valid host name"},
	} {
		_, err := Build([]*Indicator{mk("domain " + tt.value)}, BuildOptions{})
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Build(domain %q) = %v; want an error with %q", tt.value, err, tt.err)
		}
		if err := CheckExclusionValue("remote_domain", tt.value); err == nil {
			t.Errorf("CheckExclusionValue(remote_domain, %q) = nil; want it refused", tt.value)
		}
	}
	// A name whose last label only starts with a digit is one.
	if _, err := Build([]*Indicator{mk("domain example.3com")}, BuildOptions{}); err != nil {
		t.Errorf("Build(domain example.3com) = %v", err)
	}
}

// Exclusions see the host a browser connects to: remote_ip holds a host
// written as an address in another form, remote_domain a host a special
// scheme names without slashes or with escapes (the pipeline sets
// Subject.RemoteHost to NormalizeHost of the RemoteUrl).
func TestExclusionsSeeTheHostABrowserConnectsTo(t *testing.T) {
	tests := []struct {
		key, value, url string
	}{
		{"remote_ip", "203.0.113.0/24", "http://0xcb.0.0x71.7/x"},
		{"remote_ip", "203.0.113.7", "http://3405803783/"},
		{"remote_ip", "127.0.0.1", "http://127.1/"},
		{"remote_domain", "evil.com", "http:evil.com/x"},
		{"remote_domain", "evil.com", "http://www.evil%2Ecom/x"},
		// An intranet host named as a special scheme, and its port.
		{"remote_domain", "ftp", "ftp:21"},
	}
	for _, tt := range tests {
		x := compileOne(t, map[string][]string{tt.key: {tt.value}})
		host, ok := NormalizeHost(tt.url)
		if !ok {
			t.Errorf("NormalizeHost(%q) refused it", tt.url)
			continue
		}
		if x.Match(&Subject{RemoteHost: host}, Hit{}, t0) == nil {
			t.Errorf("%s %q does not exclude a hit on %q (host %q)", tt.key, tt.value, tt.url, host)
		}
	}
}

// A feed's URL is read as the matcher reads it: a special scheme without
// slashes, a host's escapes and an IPv4 address in another form give the
// canonical URL of the host a browser reaches, and that is what the guard
// judges. A value without a scheme, and a bare value, are read strictly:
// only the dotted-decimal form is an address ("10.5" is no address, and
// no domain either), and a '%' is no character of a host.
func TestParseValueReadsTheHostAsABrowserDoes(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		kind  Kind
		value string // canonical; for errors, a substring of the message
	}{
		{"a special scheme without slashes", "http:evil.example/x", KindURL, "http://evil.example/x"},
		{"https without slashes, in capitals", "HTTPS:Evil.Example", KindURL, "https://evil.example"},
		{"a special scheme with nothing after it", "http:", KindInvalid, "without a host"},
		{"an escaped dot in the host", "http://evil%2Eexample/x", KindURL, "http://evil.example/x"},
		{"an escaped capital in the host", "http://%45vil.example/", KindURL, "http://evil.example/"},
		{"escaped UTF-8 in the host", "http://b%C3%BCcher.example/", KindURL, "http://xn--bcher-kva.example/"},
		{"an escaped slash in the host", "http://evil%2Fexample/", KindInvalid, "invalid character '/'"},
		{"an escaped byte that is no UTF-8", "http://%FF.example/", KindInvalid, "not valid UTF-8"},
		{"an escaped star in the host", "http://%2A.evil.example/", KindInvalid, "invalid character '*'"},
		{"a hex address", "http://0xcb.0.0x71.7/x", KindURL, "http://203.0.113.7/x"},
		{"an address of one number with a port", "http://3405803783:8080/x", KindURL, "http://203.0.113.7:8080/x"},
		{"an octal address", "https://0313.0.0161.07/", KindURL, "https://203.0.113.7/"},
		{"an address of two parts", "http://203.28935/", KindURL, "http://203.0.113.7/"},
		{"full-width hex", "http://\uff10\uff58\uff43\uff42\uff0e\uff10\uff0e\uff10\uff58\uff17\uff11\uff0e\uff17/", KindURL, "http://203.0.113.7/"},
		{"a prefix on a hex address", "http://0xcb.0.0x71.7/kits/*", KindURL, "http://203.0.113.7/kits/*"},
		{"a name whose first labels are numbers", "http://1.2.3.example/x", KindURL, "http://1.2.3.example/x"},
		{"a number out of range", "http://1.2.3.256/", KindInvalid, "its last label is a number"},
		{"escaped colons are no IPv6 address", "http://2001%3Adb8%3A%3A1/x", KindInvalid, "invalid character ':'"},
		{"an address with two trailing dots", "http://203.0.113.7../x", KindInvalid, "empty label"},
		{"a number with two trailing dots", "http://3405803783../", KindInvalid, "empty label"},
		{"an address with two trailing dots, one escaped", "http://203.0.113.7.%2E/", KindInvalid, "empty label"},
		{"full-width digits, a full-width and an ASCII trailing dot", "http://\uff12\uff10\uff13\uff0e\uff10\uff0e\uff11\uff11\uff13\uff0e\uff17\uff0e./", KindInvalid, "empty label"},
		{"full-width digits and a full-width trailing dot", "http://\uff12\uff10\uff13\uff0e\uff10\uff0e\uff11\uff11\uff13\uff0e\uff17\uff0e/", KindURL, "http://203.0.113.7/"},
		{"a special scheme's name and a port is a host and a port", "ftp:21", KindDomain, "ftp"},
		{"a special scheme's name, a port and a path is a URL without a scheme", "ws:8080/x", KindURL, "ws:8080/x"},
		{"a number over 65535 after a special scheme is a host", "http:3405803783/x", KindURL, "http://203.0.113.7/x"},
		{"a name that ends in a hex number", "http://c2.0x1f/", KindInvalid, "its last label is a number"},
		{"a value without a scheme is read strictly: hex", "0xcb.0.0x71.7/x", KindInvalid, "not an IP address"},
		{"a value without a scheme is read strictly: escapes", "evil%2Eexample/x", KindInvalid, "invalid character '%'"},
		{"a bare value in hex is no address", "0xcb.0.0x71.7", KindInvalid, "not an IP address"},
		{"a bare number is no address", "3405803783", KindInvalid, "not an IP address"},
		{"a version number is no address", "10.5", KindInvalid, "not an IP address"},
		{"a domain that ends in a hex number", "c2.0x1f", KindInvalid, "its last label is a hex number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, value, err := ParseValue(tt.in)
			if tt.kind == KindInvalid {
				if err == nil || !strings.Contains(err.Error(), tt.value) {
					t.Fatalf("ParseValue(%q) = %s %q, %v; want an error with %q", tt.in, kind, value, err, tt.value)
				}
				return
			}
			if err != nil || kind != tt.kind || value != tt.value {
				t.Fatalf("ParseValue(%q) = %s %q, %v; want %s %q", tt.in, kind, value, err, tt.kind, tt.value)
			}
			if kind != KindURL {
				return
			}
			// The indicator keys as an event of the same text.
			key, ok := appendURLIndicator(nil, strings.TrimSuffix(value, "*"), strings.HasSuffix(value, "*"))
			want, wok := NormalizeURL(strings.TrimSuffix(tt.in, "*"))
			if !ok || !wok || string(key) != want {
				t.Fatalf("ParseValue(%q) = %q, keyed %q (%v); the RemoteUrl %q is %q (%v)", tt.in, value, key, ok, tt.in, want, wok)
			}
		})
	}

	// The guard judges the host a browser connects to.
	for _, tt := range []struct{ in, reason string }{
		{"http://0x7f.1/x", "loopback range refused"},
		{"http://2130706433/", "loopback range refused"},
		{"http://0xa.1/", "private range refused"},
	} {
		kind, value, err := ParseValue(tt.in)
		if err != nil {
			t.Fatalf("ParseValue(%q): %v", tt.in, err)
		}
		if got := (Guard{}).Check(kind, value); !strings.Contains(got, tt.reason) {
			t.Errorf("Guard.Check(%s, %q) (from %q) = %q; want %q", kind, value, tt.in, got, tt.reason)
		}
	}
}

// The guard reads a URL's host as the index keys it even when the URL is
// not in ParseValue's canonical form: an address in another form is that
// address, and escapes are decoded.
func TestGuardReadsTheHostOfAURLAsABrowserDoes(t *testing.T) {
	tests := []struct {
		g      Guard
		url    string
		reason string // "" accepted; else a substring of the reason
	}{
		{Guard{}, "http://0x7f.0.0.1/x", "loopback range refused"},
		{Guard{AllowPrivate: true}, "http://0x7f.0.0.1/x", ""},
		{Guard{}, "http://3232235777/", "private range refused"},
		{Guard{}, "http://0xcb.0.0x71.7/", ""},
		{Guard{}, "http://evil%2Eexample/x", ""},
		{Guard{}, "http://c2%2Elocal/x", "internal name refused"},
		{Guard{AllowPrivate: true}, "http://1.2.3.256/", "neither an IPv4 address nor a domain"},
	}
	for _, tt := range tests {
		got := tt.g.Check(KindURL, tt.url)
		if tt.reason == "" && got != "" || tt.reason != "" && !strings.Contains(got, tt.reason) {
			t.Errorf("%+v.Check(url, %q) = %q; want %q", tt.g, tt.url, got, tt.reason)
		}
	}
}
