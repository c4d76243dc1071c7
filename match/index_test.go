package match

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	t0       = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	ipTables = []string{IPIndexBart, IPIndexCIDRanger}
)

// mk builds an indicator from "kind value [source]".
func mk(spec string) *Indicator {
	f := strings.Fields(spec)
	k, err := ParseKind(f[0])
	if err != nil {
		panic(err)
	}
	ind := &Indicator{Kind: k, Value: f[1], Meta: &Meta{Where: "test:" + spec}}
	if len(f) > 2 {
		ind.Meta.Source = f[2]
	}
	return ind
}

// expired returns an indicator valid only before t0.
func expired(spec string) *Indicator {
	ind := mk(spec)
	ind.Meta.ValidUntil = t0
	return ind
}

// future returns an indicator valid only after t0.
func future(spec string) *Indicator {
	ind := mk(spec)
	ind.Meta.ValidFrom = t0.Add(time.Hour)
	return ind
}

// hitStrings renders hits as "Field kind value source", sorted.
func hitStrings(hits []Hit) []string {
	out := make([]string, 0, len(hits))
	for _, h := range hits {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s %s", h.Field, h.Indicator.Kind, h.Indicator.Value, h.Indicator.Meta.Source)))
	}
	slices.Sort(out)
	return out
}

func TestMatchSemantics(t *testing.T) {
	type tc struct {
		name string
		inds []*Indicator
		q    Query
		want []string // "Field kind value source"
	}
	ip := netip.MustParseAddr
	tests := []tc{
		// IP: longest prefix, IPv4 and IPv6, mapped addresses.
		{"an IPv4 address matches its ip indicator",
			[]*Indicator{mk("ip 203.0.113.7")}, Query{RemoteIP: ip("203.0.113.7")},
			[]string{"RemoteIP ip 203.0.113.7"}},
		{"an IPv4 address outside every prefix matches nothing",
			[]*Indicator{mk("cidr 203.0.113.0/24")}, Query{RemoteIP: ip("203.0.114.1")}, nil},
		{"the longest matching prefix wins over shorter ones",
			[]*Indicator{mk("cidr 198.51.0.0/16"), mk("cidr 198.51.100.0/24"), mk("ip 198.51.100.9")},
			Query{RemoteIP: ip("198.51.100.7")}, []string{"RemoteIP cidr 198.51.100.0/24"}},
		{"every indicator sharing the longest prefix is reported",
			[]*Indicator{mk("cidr 198.51.100.0/24 feodo"), mk("cidr 198.51.100.0/24 misp"), mk("cidr 198.51.0.0/16 x")},
			Query{RemoteIP: ip("198.51.100.7")},
			[]string{"RemoteIP cidr 198.51.100.0/24 feodo", "RemoteIP cidr 198.51.100.0/24 misp"}},
		{"an IPv4-mapped query address matches an IPv4 indicator",
			[]*Indicator{mk("ip 198.51.100.7")}, Query{RemoteIP: ip("::ffff:198.51.100.7")},
			[]string{"RemoteIP ip 198.51.100.7"}},
		{"an IPv4-mapped ip indicator matches an IPv4 address",
			[]*Indicator{mk("ip ::ffff:198.51.100.7")}, Query{RemoteIP: ip("198.51.100.7")},
			[]string{"RemoteIP ip ::ffff:198.51.100.7"}},
		{"an IPv4-mapped cidr indicator matches an IPv4 address",
			[]*Indicator{mk("cidr ::ffff:198.51.100.0/120")}, Query{RemoteIP: ip("198.51.100.7")},
			[]string{"RemoteIP cidr ::ffff:198.51.100.0/120"}},
		{"a cidr with host bits set is masked",
			[]*Indicator{mk("cidr 198.51.100.77/24")}, Query{RemoteIP: ip("198.51.100.1")},
			[]string{"RemoteIP cidr 198.51.100.77/24"}},
		{"an IPv6 address matches its /48",
			[]*Indicator{mk("cidr 2001:db8:1::/48"), mk("cidr 2001:db8::/32")}, Query{RemoteIP: ip("2001:db8:1::77")},
			[]string{"RemoteIP cidr 2001:db8:1::/48"}},
		{"an IPv6 address in compressed form matches its ip indicator",
			[]*Indicator{mk("ip 2a02:cf40:0:0::")}, Query{RemoteIP: ip("2a02:cf40::")},
			[]string{"RemoteIP ip 2a02:cf40:0:0::"}},
		{"an IPv4 prefix never matches an IPv6 address",
			[]*Indicator{mk("cidr 0.0.0.0/0")}, Query{RemoteIP: ip("2001:db8::1")}, nil},
		{"an expired longest prefix gives way to the shorter active one",
			[]*Indicator{expired("cidr 198.51.100.0/24"), mk("cidr 198.51.0.0/16")},
			Query{RemoteIP: ip("198.51.100.7"), At: t0}, []string{"RemoteIP cidr 198.51.0.0/16"}},
		{"an expired indicator is reported when At is zero",
			[]*Indicator{expired("cidr 198.51.100.0/24"), mk("cidr 198.51.0.0/16")},
			Query{RemoteIP: ip("198.51.100.7")}, []string{"RemoteIP cidr 198.51.100.0/24"}},
		{"an indicator not yet valid is dropped",
			[]*Indicator{future("ip 198.51.100.7")}, Query{RemoteIP: ip("198.51.100.7"), At: t0}, nil},
		{"only the active indicators of a shared prefix are reported",
			[]*Indicator{expired("ip 198.51.100.7 old"), mk("ip 198.51.100.7 new")},
			Query{RemoteIP: ip("198.51.100.7"), At: t0}, []string{"RemoteIP ip 198.51.100.7 new"}},

		// Domains.
		{"a domain matches itself",
			[]*Indicator{mk("domain evil.com")}, Query{RemoteURL: "evil.com"}, []string{"RemoteUrl domain evil.com"}},
		{"a domain matches its subdomains",
			[]*Indicator{mk("domain evil.com")}, Query{RemoteURL: "a.b.evil.com"}, []string{"RemoteUrl domain evil.com"}},
		{"a domain matches the host of a URL in any case with a port",
			[]*Indicator{mk("domain evil.com")}, Query{RemoteURL: "http://EVIL.com:8080/x"}, []string{"RemoteUrl domain evil.com"}},
		{"a domain matches a host with userinfo",
			[]*Indicator{mk("domain evil.com")}, Query{RemoteURL: "user@evil.com"}, []string{"RemoteUrl domain evil.com"}},
		{"a domain matches a host with a trailing dot",
			[]*Indicator{mk("domain evil.com")}, Query{RemoteURL: "www.evil.com."}, []string{"RemoteUrl domain evil.com"}},
		{"a domain never matches a name that merely ends with it",
			[]*Indicator{mk("domain evil.com")}, Query{RemoteURL: "notevil.com"}, nil},
		{"a domain never matches a longer public suffix",
			[]*Indicator{mk("domain evil.com")}, Query{RemoteURL: "evil.com.au"}, nil},
		{"a subdomain indicator never matches its parent",
			[]*Indicator{mk("domain a.evil.com")}, Query{RemoteURL: "evil.com"}, nil},
		{"the most specific domain wins",
			[]*Indicator{mk("domain evil.com"), mk("domain cdn.evil.com")}, Query{RemoteURL: "x.cdn.evil.com"},
			[]string{"RemoteUrl domain cdn.evil.com"}},
		{"an expired subdomain indicator gives way to its active parent",
			[]*Indicator{mk("domain evil.com"), expired("domain cdn.evil.com")}, Query{RemoteURL: "x.cdn.evil.com", At: t0},
			[]string{"RemoteUrl domain evil.com"}},
		{"a domain indicator in upper case is normalised",
			[]*Indicator{mk("domain EVIL.Com.")}, Query{RemoteURL: "evil.com"}, []string{"RemoteUrl domain EVIL.Com."}},
		{"an IDN domain matches its punycode host",
			[]*Indicator{mk("domain bücher.example")}, Query{RemoteURL: "https://www.xn--bcher-kva.example/"},
			[]string{"RemoteUrl domain bücher.example"}},
		{"a punycode domain matches a host written in Unicode",
			[]*Indicator{mk("domain xn--bcher-kva.example")}, Query{RemoteURL: "WWW.BÜCHER.example"},
			[]string{"RemoteUrl domain xn--bcher-kva.example"}},

		// IP-literal hosts in RemoteUrl.
		{"a RemoteUrl whose host is an IPv4 literal is looked up in the IP index",
			[]*Indicator{mk("cidr 203.0.113.0/24")}, Query{RemoteURL: "http://203.0.113.7:8080/x"},
			[]string{"RemoteUrl.host cidr 203.0.113.0/24"}},
		{"a RemoteUrl whose host is a bracketed IPv6 literal is looked up in the IP index",
			[]*Indicator{mk("ip 2001:db8::1")}, Query{RemoteURL: "[2001:db8::1]"},
			[]string{"RemoteUrl.host ip 2001:db8::1"}},
		{"an IP-literal host equal to RemoteIP is reported once, on RemoteIP",
			[]*Indicator{mk("ip 203.0.113.7")}, Query{RemoteIP: ip("203.0.113.7"), RemoteURL: "203.0.113.7"},
			[]string{"RemoteIP ip 203.0.113.7"}},
		{"an IP-literal host different from RemoteIP is reported on both fields",
			[]*Indicator{mk("cidr 203.0.113.0/24")}, Query{RemoteIP: ip("203.0.113.7"), RemoteURL: "http://203.0.113.8/"},
			[]string{"RemoteIP cidr 203.0.113.0/24", "RemoteUrl.host cidr 203.0.113.0/24"}},

		// URLs.
		{"a URL indicator matches the same URL",
			[]*Indicator{mk("url http://evil.com/gate.php")}, Query{RemoteURL: "http://evil.com/gate.php"},
			[]string{"RemoteUrl url http://evil.com/gate.php"}},
		{"a URL indicator matches after normalising both sides",
			[]*Indicator{mk("url HTTP://Evil.com:80/gate.php#x")}, Query{RemoteURL: "http://user@EVIL.COM/gate.php"},
			[]string{"RemoteUrl url HTTP://Evil.com:80/gate.php#x"}},
		{"a URL path is case-sensitive",
			[]*Indicator{mk("url http://evil.com/gate.php")}, Query{RemoteURL: "http://evil.com/GATE.php"}, nil},
		{"a URL indicator never fires on its host alone",
			[]*Indicator{mk("url http://evil.com/")}, Query{RemoteURL: "evil.com"}, nil},
		{"an event URL without a scheme is taken as http",
			[]*Indicator{mk("url http://evil.com/path")}, Query{RemoteURL: "evil.com/path"},
			[]string{"RemoteUrl url http://evil.com/path"}},
		{"an https URL never matches an http indicator",
			[]*Indicator{mk("url http://evil.com/path")}, Query{RemoteURL: "https://evil.com/path"}, nil},
		{"a URL with a query differs from the URL without it",
			[]*Indicator{mk("url http://evil.com/path")}, Query{RemoteURL: "http://evil.com/path?x=1"}, nil},
		{"a URL ending in a star matches every URL it prefixes",
			[]*Indicator{mk("url http://evil.com/dl/*")}, Query{RemoteURL: "http://evil.com/dl/a/b.exe?x"},
			[]string{"RemoteUrl url http://evil.com/dl/*"}},
		{"a URL prefix does not match a URL that only shares its host",
			[]*Indicator{mk("url http://evil.com/dl/*")}, Query{RemoteURL: "http://evil.com/d"}, nil},
		{"a URL prefix without a path means every URL of its host",
			[]*Indicator{mk("url http://evil.com*")}, Query{RemoteURL: "http://evil.com/x"},
			[]string{"RemoteUrl url http://evil.com*"}},
		{"a URL prefix without a path never matches a longer host",
			[]*Indicator{mk("url http://evil.com*")}, Query{RemoteURL: "http://evil.com.au/x"}, nil},
		{"the longest URL prefix wins",
			[]*Indicator{mk("url http://evil.com/*"), mk("url http://evil.com/dl/*"), mk("url http://evil.com/dl/x/*")},
			Query{RemoteURL: "http://evil.com/dl/y"}, []string{"RemoteUrl url http://evil.com/dl/*"}},
		{"an exact URL wins over a prefix",
			[]*Indicator{mk("url http://evil.com/dl/*"), mk("url http://evil.com/dl/a")},
			Query{RemoteURL: "http://evil.com/dl/a"}, []string{"RemoteUrl url http://evil.com/dl/a"}},
		{"an expired exact URL gives way to a prefix",
			[]*Indicator{mk("url http://evil.com/dl/*"), expired("url http://evil.com/dl/a")},
			Query{RemoteURL: "http://evil.com/dl/a", At: t0}, []string{"RemoteUrl url http://evil.com/dl/*"}},
		{"a domain and a URL indicator both fire on one URL",
			[]*Indicator{mk("domain evil.com"), mk("url http://evil.com/x")},
			Query{RemoteURL: "http://www.evil.com/x"}, []string{"RemoteUrl domain evil.com"}},
		{"a domain and a URL indicator of the same host both fire",
			[]*Indicator{mk("domain evil.com"), mk("url http://evil.com/x")},
			Query{RemoteURL: "http://evil.com/x"}, []string{"RemoteUrl domain evil.com", "RemoteUrl url http://evil.com/x"}},

		// Patterns.
		{"a pattern matches a substring of the URL in any case",
			[]*Indicator{mk("pattern /gate.php")}, Query{RemoteURL: "http://evil.com/a/GATE.PHP?x=1"},
			[]string{"RemoteUrl pattern /gate.php"}},
		{"a pattern in upper case matches",
			[]*Indicator{mk("pattern GATE.php")}, Query{RemoteURL: "http://evil.com/gate.php"},
			[]string{"RemoteUrl pattern GATE.php"}},
		{"a pattern matches a bare host",
			[]*Indicator{mk("pattern -cdn.")}, Query{RemoteURL: "UPDATE-CDN.example"},
			[]string{"RemoteUrl pattern -cdn."}},
		{"a pattern sees the normalised URL, not the raw one",
			[]*Indicator{mk("pattern :80/")}, Query{RemoteURL: "http://evil.com:80/"}, nil},
		{"every matching pattern is reported",
			[]*Indicator{mk("pattern evil"), mk("pattern .php"), mk("pattern nomatch")},
			Query{RemoteURL: "http://evil.com/a.php"}, []string{"RemoteUrl pattern .php", "RemoteUrl pattern evil"}},
		{"a pattern matches a RemoteUrl without a usable host",
			[]*Indicator{mk("pattern bad..host")}, Query{RemoteURL: "Bad..Host"},
			[]string{"RemoteUrl pattern bad..host"}},
		{"an expired pattern is dropped",
			[]*Indicator{expired("pattern evil")}, Query{RemoteURL: "evil.com", At: t0}, nil},

		// Everything at once.
		{"an event can hit its IP, its domain, its URL and a pattern",
			[]*Indicator{mk("ip 203.0.113.7"), mk("domain evil.com"), mk("url http://evil.com/x"), mk("pattern /x")},
			Query{RemoteIP: ip("203.0.113.7"), RemoteURL: "http://evil.com/x"},
			[]string{"RemoteIP ip 203.0.113.7", "RemoteUrl domain evil.com", "RemoteUrl pattern /x", "RemoteUrl url http://evil.com/x"}},
		{"an empty query matches nothing",
			[]*Indicator{mk("cidr 0.0.0.0/0"), mk("pattern a")}, Query{}, nil},
	}
	for _, table := range ipTables {
		for _, tt := range tests {
			t.Run(table+"/"+tt.name, func(t *testing.T) {
				ix, err := Build(tt.inds, BuildOptions{IPIndex: table})
				if err != nil {
					t.Fatal(err)
				}
				got := hitStrings(ix.Match(tt.q, nil))
				if !slices.Equal(got, tt.want) {
					t.Fatalf("Match(%+v)\n got %q\nwant %q", tt.q, got, tt.want)
				}
			})
		}
	}
}

func TestLookup(t *testing.T) {
	ix, err := Build([]*Indicator{
		mk("cidr 198.51.100.0/24"), mk("domain evil.com"), mk("url http://evil.com/x"), expired("ip 192.0.2.1"),
	}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		value string
		at    time.Time
		want  []string
	}{
		{"an IP address is looked up as RemoteIP", "198.51.100.7", time.Time{}, []string{"RemoteIP cidr 198.51.100.0/24"}},
		{"an IP address with spaces is looked up as RemoteIP", " 198.51.100.7\n", time.Time{}, []string{"RemoteIP cidr 198.51.100.0/24"}},
		{"an IPv4-mapped address is looked up as IPv4", "::ffff:198.51.100.7", time.Time{}, []string{"RemoteIP cidr 198.51.100.0/24"}},
		{"an IP with a port is looked up as a RemoteUrl host", "198.51.100.7:443", time.Time{}, []string{"RemoteUrl.host cidr 198.51.100.0/24"}},
		{"a domain is looked up as RemoteUrl", "www.EVIL.com", time.Time{}, []string{"RemoteUrl domain evil.com"}},
		{"a URL is looked up as RemoteUrl", "http://evil.com/x", time.Time{}, []string{"RemoteUrl domain evil.com", "RemoteUrl url http://evil.com/x"}},
		{"an expired indicator is left out at a time after it", "192.0.2.1", t0, nil},
		{"an expired indicator is reported at the zero time", "192.0.2.1", time.Time{}, []string{"RemoteIP ip 192.0.2.1"}},
		{"an unknown value matches nothing", "good.example", time.Time{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hitStrings(ix.Lookup(tt.value, tt.at)); !slices.Equal(got, tt.want) {
				t.Fatalf("Lookup(%q) = %q; want %q", tt.value, got, tt.want)
			}
		})
	}
}

func TestLookupPrefix(t *testing.T) {
	ix, err := Build([]*Indicator{
		mk("cidr 198.51.100.0/24"), mk("ip 198.51.100.7"), mk("cidr 10.0.0.0/8"), mk("ip 2001:db8::1"), mk("domain evil.com"), expired("ip 192.0.2.1"),
	}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, prefix string
		at           time.Time
		want         []string
	}{
		{"a range inside an indicator is covered by it", "198.51.100.128/25", time.Time{}, []string{"RemoteIP cidr 198.51.100.0/24"}},
		{"a range lists the indicators inside it", "198.51.0.0/16", time.Time{}, []string{"RemoteIP cidr 198.51.100.0/24", "RemoteIP ip 198.51.100.7"}},
		{"a range covered by a wider one", "10.1.0.0/16", time.Time{}, []string{"RemoteIP cidr 10.0.0.0/8"}},
		{"IPv6", "2001:db8::/32", time.Time{}, []string{"RemoteIP ip 2001:db8::1"}},
		{"an unmasked range is masked", "198.51.100.99/24", time.Time{}, []string{"RemoteIP cidr 198.51.100.0/24", "RemoteIP ip 198.51.100.7"}},
		{"an expired indicator is left out at a time after it", "192.0.2.0/24", t0, nil},
		{"an expired indicator is reported at the zero time", "192.0.2.0/24", time.Time{}, []string{"RemoteIP ip 192.0.2.1"}},
		{"a range with nothing in it", "203.0.113.0/24", time.Time{}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := hitStrings(ix.LookupPrefix(netip.MustParsePrefix(tt.prefix), tt.at)); !slices.Equal(got, tt.want) {
				t.Fatalf("LookupPrefix(%s) = %q; want %q", tt.prefix, got, tt.want)
			}
		})
	}
}

func TestRefang(t *testing.T) {
	for in, want := range map[string]string{
		"evil[.]example":          "evil.example",
		"hxxps://evil(.)example/": "https://evil.example/",
		"198.51.100[.]7":          "198.51.100.7",
		"evil.example":            "evil.example",
	} {
		if got := Refang(in); got != want {
			t.Errorf("Refang(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBuildRefusesInvalidValues(t *testing.T) {
	tests := []struct {
		name string
		ind  *Indicator
		want string // substring of the error
	}{
		{"an ip that does not parse names its origin", &Indicator{Kind: KindIP, Value: "1.2.3", Meta: &Meta{Where: "feeds/c2.csv:14"}}, `feeds/c2.csv:14: ip indicator "1.2.3"`},
		{"an ip written as a prefix is refused", &Indicator{Kind: KindIP, Value: "1.2.3.0/24", Meta: &Meta{Where: "o:1"}}, `o:1: ip indicator "1.2.3.0/24"`},
		{"a cidr that does not parse is refused", &Indicator{Kind: KindCIDR, Value: "1.2.3.0/33", Meta: &Meta{Where: "o:2"}}, `o:2: cidr indicator`},
		{"a domain with a path is refused", &Indicator{Kind: KindDomain, Value: "evil.com/x", Meta: &Meta{Where: "o:3"}}, "not a bare domain name"},
		{"a domain with a port is refused", &Indicator{Kind: KindDomain, Value: "evil.com:80", Meta: &Meta{Where: "o:4"}}, "not a bare domain name"},
		{"a domain with an empty label is refused", &Indicator{Kind: KindDomain, Value: "evil..com", Meta: &Meta{Where: "o:5"}}, "not a valid host name"},
		{"a domain that is an IP address is refused", &Indicator{Kind: KindDomain, Value: "203.0.113.7", Meta: &Meta{Where: "o:6"}}, "use kind ip"},
		{"a URL without a path is refused", &Indicator{Kind: KindURL, Value: "evil.com", Meta: &Meta{Where: "o:7"}}, "not a URL"},
		{"an empty pattern is refused", &Indicator{Kind: KindPattern, Value: "", Meta: &Meta{Where: "o:8"}}, "empty pattern"},
		{"an invalid kind is refused", &Indicator{Kind: KindInvalid, Value: "x", Meta: &Meta{Where: "o:9"}}, "unknown kind invalid"},
		{"an indicator without origin is named by its position", &Indicator{Kind: KindIP, Value: "x", Meta: &Meta{}}, "indicator 0: ip"},
		{"an indicator without metadata is refused", &Indicator{Kind: KindIP, Value: "203.0.113.7"}, "indicator 0 (ip \"203.0.113.7\") has no metadata"},
		{"a nil indicator is refused", nil, "indicator 0 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := Build([]*Indicator{tt.ind}, BuildOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build = %v, %v; want an error containing %q", ix, err, tt.want)
			}
		})
	}
}

func TestBuildJoinsEveryErrorUpToACap(t *testing.T) {
	var inds []*Indicator
	for i := range 150 {
		inds = append(inds, &Indicator{Kind: KindIP, Value: "bad", Meta: &Meta{Where: fmt.Sprintf("f:%d", i+1)}})
	}
	_, err := Build(inds, BuildOptions{})
	if err == nil {
		t.Fatal("Build accepted 150 invalid indicators")
	}
	msg := err.Error()
	for _, want := range []string{"f:1:", "f:100:", "and 50 more invalid indicators"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q", want)
		}
	}
	if strings.Contains(msg, "f:101:") {
		t.Errorf("error lists more than 100 problems")
	}
}

func TestBuildRefusesAnUnknownIPIndex(t *testing.T) {
	if _, err := Build(nil, BuildOptions{IPIndex: "radix"}); err == nil || !strings.Contains(err.Error(), `unknown IP index "radix"`) {
		t.Fatalf("Build with IPIndex radix = %v", err)
	}
}

func TestIndexAccessors(t *testing.T) {
	inds := []*Indicator{
		mk("ip 192.0.2.1 a"), mk("ip 192.0.2.1 b"), mk("cidr 192.0.2.0/24"), mk("domain evil.com"),
		mk("url http://evil.com/x"), mk("url http://evil.com/y*"), mk("pattern evil"), mk("pattern EVIL"),
	}
	ix, err := Build(inds, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != len(inds) {
		t.Errorf("Len = %d; want %d", ix.Len(), len(inds))
	}
	want := map[Kind]int{KindIP: 2, KindCIDR: 1, KindDomain: 1, KindURL: 2, KindPattern: 2}
	if got := ix.Counts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Counts = %v; want %v", got, want)
	}
	if n := ix.PatternCount(); n != 1 {
		t.Errorf("PatternCount = %d; want 1 (evil and EVIL are one pattern)", n)
	}
	got := ix.Indicators()
	if !slices.EqualFunc(got, inds, func(a, b *Indicator) bool { return *a == *b }) {
		t.Errorf("Indicators differ from the input")
	}
	got[0].Value = "changed"
	if ix.Indicators()[0].Value == "changed" {
		t.Errorf("Indicators returned the index's own indicators")
	}
}

func TestNilAndEmptyIndexMatchNothing(t *testing.T) {
	var nilIx *Index
	empty, err := Build(nil, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q := Query{RemoteIP: netip.MustParseAddr("192.0.2.1"), RemoteURL: "http://evil.com/x"}
	for name, ix := range map[string]*Index{"nil": nilIx, "empty": empty, "zero": {}} {
		if hits := ix.Match(q, nil); len(hits) != 0 {
			t.Errorf("%s index: Match = %v", name, hits)
		}
		if ix.Len() != 0 || len(ix.Counts()) != 0 || ix.PatternCount() != 0 || len(ix.Indicators()) != 0 {
			t.Errorf("%s index is not empty", name)
		}
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	ix, err := Build([]*Indicator{
		mk("cidr 203.0.113.0/24"), mk("ip 2001:db8::1"), mk("domain evil.com"), mk("url http://evil.com/x"),
		mk("url https://evil.com/dl/*"), mk("pattern nomatch"),
	}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	queries := []Query{
		{RemoteIP: netip.MustParseAddr("203.0.113.7"), RemoteURL: "http://www.evil.com/x", At: t0},
		{RemoteIP: netip.MustParseAddr("::ffff:203.0.113.7"), RemoteURL: "HTTPS://Evil.com:443/dl/a/b?c=%7e#f"},
		{RemoteIP: netip.MustParseAddr("2001:db8::1"), RemoteURL: "[2001:db8::2]:8080"},
		{RemoteIP: netip.MustParseAddr("192.0.2.1"), RemoteURL: "good.example"},
		{RemoteURL: "http://evil.com/" + strings.Repeat("a", 2000)},
		{RemoteURL: "no host at all"},
		// Backslashes and dot segments are resolved in place.
		{RemoteURL: `http:\\evil.com\a\..\x`},
		{RemoteURL: `https://evil.com/dl/%2e%2E/dl/./a?q=\`},
		// Hosts a browser reads otherwise than they are written: a special
		// scheme without slashes, escapes, IPv4 addresses in other forms.
		{RemoteURL: "http:evil.com/x"},
		{RemoteURL: "https://EVIL%2Ecom/dl/a"},
		{RemoteURL: "http://%65vil.com/x"},
		{RemoteURL: "http://0xcb.0.0x71.7/x"},
		{RemoteURL: "http://0313.0.0161.07/x"},
		{RemoteIP: netip.MustParseAddr("192.0.2.1"), RemoteURL: "http://3405803783/"},
		{RemoteURL: "http://203.0.28935:8080/x"},
		{RemoteURL: "http://203.0.113.7./"},
		{RemoteURL: "http://0x" + strings.Repeat("0", 70) + "cb.0.0x71.7/x"},
		{RemoteURL: "http://1.2.3.256/x"},
		{RemoteURL: "http://evil%2Fcom/x"},
		{RemoteURL: "http://" + strings.Repeat("%61", 60) + ".evil%2Ecom/x"},
	}
	hits := make([]Hit, 0, 16)
	for _, q := range queries {
		n := testing.AllocsPerRun(100, func() { hits = ix.Match(q, hits[:0]) })
		if n != 0 {
			t.Errorf("Match(%.60q) allocates %v times; want 0", q.RemoteURL, n)
		}
	}
}

func TestMatchIsSafeForConcurrentUse(t *testing.T) {
	// Run with -race: patterns take the mutex path, the rest is read-only.
	inds := []*Indicator{mk("cidr 203.0.113.0/24"), mk("domain evil.com"), mk("url http://www.evil.com/x*"), mk("pattern evil"), mk("pattern /x")}
	ix, err := Build(inds, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q := Query{RemoteIP: netip.MustParseAddr("203.0.113.7"), RemoteURL: "http://www.evil.com/xyz"}
	want := hitStrings(ix.Match(q, nil))
	if len(want) != 5 {
		t.Fatalf("Match = %q; want 5 hits", want)
	}
	errs := make(chan string, 8)
	for range 8 {
		go func() {
			var bad string
			var hits []Hit
			for range 200 {
				hits = ix.Match(q, hits[:0])
				if got := hitStrings(hits); !slices.Equal(got, want) && bad == "" {
					bad = strings.Join(got, ", ")
				}
			}
			errs <- bad
		}()
	}
	for range 8 {
		if bad := <-errs; bad != "" {
			t.Errorf("a concurrent Match returned %s", bad)
		}
	}
}
