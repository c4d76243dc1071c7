package match

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// urlReaderSeeds are values that the three readers of a URL — the events'
// (splitURL: NormalizeHost, NormalizeURL, Match), the feeds'
// (ParseValue, whose canonical form the guard judges) and the exclusions'
// remote_domain and remote_ip (NormalizeHost of the event) — could read
// differently.
var urlReaderSeeds = []string{
	`http://evil.example\@good.example/`,
	`http://10.0.0.1\@good.example/x`,
	`http:/\evil.example\x`,
	`HTTP:\\EVIL.example\a\..\b`,
	`http:///evil.example/x`,
	`https:\\\\evil.example`,
	`ws:\\evil.example\x`,
	`ftp:/evil.example/x`,
	`file:\\server.example\share\x`,
	"file:///etc/passwd",
	`//evil.example\x`,
	`\\evil.example\x`,
	`http://u\p@evil.example/`,
	`http://evil.example:8080\x`,
	`http://[2001:db8::1]\x`,
	`http://[::1\@good.example/`,
	`http://evil.example/a%5Cb`,
	`http://evil.example/a/.%2E/b/.../..?q`,
	`http://evil.example/a\*`,
	`http://evil.example\*`,
	`evil.example\@good.example/x`,
	`evil.example:8080\x/y`,
	`foo://a\@evil.example/`,
	`foo:\\evil.example\x`,
	"http://ev\til.example/",
	"http://evil.example\t\\@good.example/",
	"ht\ttp://evil.example/x",
	"http:/\t/evil.example/x",
	"http://evil.example/a/.\t./b",
	"http://evil.example/%2\te",
	"\x00http://evil.example/\x01",
	"http:evil.example/x",
	`evil.example\x#frag`,
	"evil.example#frag",
	"203.0.113.5#c2",
	// A special scheme without any slash; hosts a browser decodes or
	// reads as an IPv4 address in another form.
	"https:evil.example",
	"HTTP:Evil.Example:8080/x",
	"http:u@evil.example/x",
	"http:",
	"ws:8080",
	"file:evil.example/x",
	"http://evil%2Eexample/x",
	"http://%65vil.example/",
	"http://EVIL%2eEXAMPLE/x",
	"http://b%C3%BCcher.example/",
	"http://evil%2Fexample/",
	"http://evil.example%3A80/",
	"http://%5B::1%5D/",
	"http://%FF.example/",
	"http://evil%252Eexample/",
	"evil%2Eexample/x",
	"http://0x7f.0.0.1/x",
	"http://0177.0.0.1/",
	"http://2130706433/",
	"http://127.1/",
	"http://127.0.0.1./",
	"http://0xcb.0.0x71.07:8080/x",
	"http://3405803783/x",
	"http://203.0.28935/x",
	"http://0x/",
	"http://%30x7f.1/",
	"http://\uff10\uff58\uff17\uff46\uff0e\uff11/",
	"http://0x" + strings.Repeat("0", 70) + "cb.0.0x71.7/",
	"http://1.2.3.example/",
	"http://example.3com/",
	"http://1.2.3.256/",
	"http://4294967296/",
	"http://1.2.3.4.5/",
	"http://09.0.0.1/",
	"http://example.0x1/",
	"foo://0x7f.1/x",
	"0x7f.0.0.1",
	"0x7f.0.0.1/x",
	"c2.0x1f",
	"10.5",
	// Escaped colons, two trailing dots after a number, and a special
	// scheme's name with a port ("ftp:21": a host and a port).
	"http://2001%3Adb8%3A%3A1/",
	"http://%3A%3A1/x",
	"http://3405803783../x",
	"http://203.0.113.7.%2E/",
	"http://\uff12\uff10\uff13\uff0e\uff10\uff0e\uff11\uff11\uff13\uff0e\uff17\uff0e./",
	"ftp:21",
	"ws:8080/x",
	`HTTPS:443\x`,
	"http:65536/x",
	"http:80@evil.example/x",
	// An IDN host whose last label is "xn--" (it decodes to nothing: no
	// host), and one whose last label IDNA empties (the root).
	"http://évil.example.xn--/x",
	"http://\uff12\uff10\uff13\uff0e\uff10\uff0e\uff11\uff11\uff13\uff0e\uff17\uff0eXN--/x",
	"http://évil.example.\u00ad/x",
}

// FuzzURLReadersAgree checks that the readers of a URL agree on its host
// and its key: a feed's value that loads is judged by the guard on the
// host the index keys, and an event whose RemoteUrl is the value's text
// is on that host and normalises to the indicator's key, so the indicator
// fires on it, and an exclusion by remote_domain sees that host too. A
// host that NormalizeHost reads as an address, in whatever form s writes
// it, is one for an ip indicator and a remote_ip exclusion.
func FuzzURLReadersAgree(f *testing.F) {
	for _, s := range urlReaderSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkURLReadersAgree(t, s)
	})
}

// TestURLReadersAgree runs the checks of FuzzURLReadersAgree over its
// seeds and the normaliser's, by name.
func TestURLReadersAgree(t *testing.T) {
	for _, s := range slices.Concat(urlReaderSeeds, normalizeSeeds) {
		t.Run(strings.ToValidUTF8(s, "?"), func(t *testing.T) { checkURLReadersAgree(t, s) })
	}
}

func checkURLReadersAgree(t *testing.T, s string) {
	t.Helper()
	// The event's reading: the host the matcher looks up and the
	// exclusions see (the pipeline sets Subject.RemoteHost to it).
	eh, eok := NormalizeHost(s)
	if eok {
		if a, err := netip.ParseAddr(eh); err == nil {
			checkIPHit(t, a, s)
		} else if strings.IndexByte(eh, ':') < 0 && !digitsAndDots(eh) {
			checkDomainHit(t, eh, s)
		}
	}

	// A feed reads the value with ParseValue, or as a URL where it says
	// the field holds URLs (which reads "host#x" as a URL with a
	// fragment).
	if kind, v, err := ParseValue(s); err == nil && kind == KindURL {
		checkFeedURL(t, s, v, eh, eok)
	}
	if kind, v, err := ldParseAs(KindURL, s); err == nil && kind == KindURL {
		checkFeedURL(t, s, v, eh, eok)
	}
}

// checkFeedURL checks that the URL value v, which a feed's s loads as, is
// judged by the guard on the host the index keys, and, when s is a URL as
// an event carries it, that an event with the RemoteUrl s (host eh, eok)
// is on that host and has the indicator's key.
func checkFeedURL(t *testing.T, s, v, eh string, eok bool) {
	t.Helper()
	base := strings.TrimSuffix(v, "*")
	key, ok := NormalizeURL(base)
	if !ok {
		t.Fatalf("%q loads as the url %q, which NormalizeURL refuses", s, v)
	}
	host, ok := NormalizeHost(base)
	if !ok {
		t.Fatalf("%q loads as the url %q, whose host NormalizeHost refuses", s, v)
	}
	// The guard judges the host the index keys: its verdict on the value
	// is its verdict on a URL of that host alone.
	hostOnly := "http://" + host + "/"
	if strings.IndexByte(host, ':') >= 0 {
		hostOnly = "http://[" + host + "]/"
	}
	for _, g := range []Guard{{}, {AllowPrivate: true}} {
		if got, want := g.Check(KindURL, v), g.Check(KindURL, hostOnly); got != want {
			t.Fatalf("%q loads as the url %q, keyed on the host %q: the guard (%+v) says %q of it and %q of the host", s, v, host, g, got, want)
		}
	}
	// An event whose RemoteUrl is the feed's text, as it is, is on the
	// same host and has the indicator's key.
	plain := !ldMaybeDefanged(s) && strings.IndexByte(s, '*') < 0 && strings.TrimSpace(s) == trimASCIISpace(s)
	if !plain {
		return
	}
	if eh != host {
		t.Fatalf("%q loads as the url %q on the host %q; an event with that RemoteUrl is on %q (%v)", s, v, host, eh, eok)
	}
	if ek, ok := NormalizeURL(s); !ok || ek != key {
		t.Fatalf("%q loads as the url %q, keyed %q; an event with that RemoteUrl normalises to %q (%v)", s, v, key, ek, ok)
	}
	ix, err := Build([]*Indicator{{Kind: KindURL, Value: v, Meta: &Meta{}}}, BuildOptions{})
	if err != nil {
		t.Fatalf("%q loads as the url %q, which Build refuses: %v", s, v, err)
	}
	if hits := ix.Match(Query{RemoteURL: s}, nil); len(hits) != 1 {
		t.Fatalf("the url indicator %q (read from %q) gives %d hits on the RemoteUrl %q", v, s, len(hits), s)
	}
}

// checkDomainHit checks that a domain indicator for host, the host
// NormalizeHost reads in the RemoteUrl s, fires on s, and that a
// remote_domain exclusion of it sees it.
func checkDomainHit(t *testing.T, host, s string) {
	t.Helper()
	ix, err := Build([]*Indicator{{Kind: KindDomain, Value: host, Meta: &Meta{}}}, BuildOptions{})
	if err != nil {
		return // a host NormalizeHost gives that is not a domain indicator ("1.2.3.256")
	}
	hits := ix.Match(Query{RemoteURL: s}, nil)
	if len(hits) != 1 || hits[0].Field != FieldRemoteURL {
		t.Fatalf("NormalizeHost(%q) = %q, but the domain indicator %q gives %d hits on it", s, host, host, len(hits))
	}
	x, err := CompileExclusions([]RuleSpec{{Name: "r", Reason: "test", When: map[string][]string{"remote_domain": {host}}, Origin: "x.yaml:1"}})
	if err != nil {
		return // a name remote_domain refuses (a public suffix)
	}
	if x.Match(&Subject{RemoteHost: host}, hits[0], t0) == nil {
		t.Fatalf("remote_domain %q does not exclude a hit on %q, whose host is %q", host, s, host)
	}
}

// checkIPHit checks that an ip indicator for a, the address NormalizeHost
// reads in the RemoteUrl s (however s writes it: "0x7f.1", "2130706433"),
// fires on s as its host, and that a remote_ip exclusion of it sees it.
func checkIPHit(t *testing.T, a netip.Addr, s string) {
	t.Helper()
	ix, err := Build([]*Indicator{{Kind: KindIP, Value: a.String(), Meta: &Meta{}}}, BuildOptions{})
	if err != nil {
		t.Fatalf("NormalizeHost(%q) = %v, which an ip indicator refuses: %v", s, a, err)
	}
	hits := ix.Match(Query{RemoteURL: s}, nil)
	if len(hits) != 1 || hits[0].Field != FieldRemoteURLHost {
		t.Fatalf("NormalizeHost(%q) = %v, but the ip indicator %v gives %v on it", s, a, a, hitStrings(hits))
	}
	x, err := CompileExclusions([]RuleSpec{{Name: "r", Reason: "test", When: map[string][]string{"remote_ip": {a.String()}}, Origin: "x.yaml:1"}})
	if err != nil {
		t.Fatalf("remote_ip %v: %v", a, err)
	}
	if x.Match(&Subject{RemoteHost: a.String()}, hits[0], t0) == nil {
		t.Fatalf("remote_ip %v does not exclude a hit on %q, whose host is %v", a, s, a)
	}
}
